import Foundation

/// How MusicGen chooses each step's codes from the logits (transformers' logits processors in its order:
/// classifier-free guidance, then temperature, top-k and top-p; audiocraft's defaults: sampling, top-k 250, top-p
/// off, temperature 1, guidance 3).
public struct MusicGenSampling: Sendable, Equatable {
    /// False: greedy (the best code; top-k, top-p and temperature unused).
    public var sample: Bool
    public var temperature: Float
    /// Keep the k best codes (0: all).
    public var topK: Int
    /// Keep the fewest best codes whose probability adds up to this (0 or 1: all).
    public var topP: Float
    /// Classifier-free guidance: uncond + (cond − uncond) · scale; 1 or less runs the conditional pass alone.
    public var guidanceScale: Float

    public init(sample: Bool = true, temperature: Float = 1, topK: Int = 250, topP: Float = 0,
                guidanceScale: Float = 3) {
        self.sample = sample
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.guidanceScale = guidanceScale
    }

    /// Greedy decoding with guidance `scale`.
    public static func greedy(guidanceScale: Float = 3) -> MusicGenSampling {
        MusicGenSampling(sample: false, guidanceScale: guidanceScale)
    }

    /// Checks the settings.
    public func validate() throws {
        guard temperature.isFinite, temperature > 0 else {
            throw MusicGenError.invalidSetting("temperature must be a positive number, got \(temperature)")
        }
        guard topK >= 0 else { throw MusicGenError.invalidSetting("top-k must be 0 (off) or more, got \(topK)") }
        guard topP.isFinite, (0...1).contains(topP) else {
            throw MusicGenError.invalidSetting("top-p must be 0...1, got \(topP)")
        }
        guard guidanceScale.isFinite else {
            throw MusicGenError.invalidSetting("guidance must be a finite number, got \(guidanceScale)")
        }
    }

    /// Whether the batch carries an unconditional half.
    public var guided: Bool { guidanceScale > 1 }

    /// One codebook's processed scores from its conditional (and, guided, unconditional) logits: guidance, then for
    /// sampling temperature, top-k and top-p, the removed codes at −∞ (transformers' `scores` of each step).
    public func scores(conditional: ArraySlice<Float>, unconditional: ArraySlice<Float>?) -> [Float] {
        var scores: [Float]
        if let unconditional, guided {
            scores = zip(conditional, unconditional).map { $1 + ($0 - $1) * guidanceScale }
        } else {
            scores = Array(conditional)
        }
        guard sample else { return scores }
        if temperature != 1 { scores = scores.map { $0 / temperature } }
        if topK > 0, topK < scores.count {
            let kth = scores.sorted(by: >)[topK - 1]
            scores = scores.map { $0 < kth ? -.infinity : $0 }
        }
        if topP > 0, topP < 1 {
            // Ascending by score (ties in index order, as torch's stable sort), cumulative softmax; the codes whose
            // cumulative probability stays at or below 1 − p go, the best one always stays.
            let order = scores.indices.sorted { scores[$0] < scores[$1] || scores[$0] == scores[$1] && $0 < $1 }
            let probabilities = Self.softmax(order.map { scores[$0] })
            var cumulative: Float = 0
            var removed: [Int] = []
            for (rank, index) in order.enumerated() where rank < order.count - 1 {
                cumulative += probabilities[rank]
                if cumulative <= 1 - topP { removed.append(index) }
            }
            for index in removed { scores[index] = -.infinity }
        }
        return scores
    }

    /// The chosen code: the best score (the first on ties, as torch's argmax), or when sampling a draw from the
    /// scores' softmax by the inverse of its cumulative distribution at `uniform` (0..<1).
    public func choose(_ scores: [Float], uniform: Float) -> Int {
        guard sample else {
            var best = 0
            for index in scores.indices where scores[index] > scores[best] { best = index }
            return best
        }
        let probabilities = Self.softmax(scores)
        var cumulative: Float = 0
        var last = 0
        for (index, probability) in probabilities.enumerated() where probability > 0 {
            cumulative += probability
            last = index
            if uniform < cumulative { return index }
        }
        return last
    }

    static func softmax(_ values: [Float]) -> [Float] {
        let top = values.max() ?? 0
        guard top.isFinite else { return values.map { _ in 1 / Float(values.count) } }
        let exponentials = values.map { Foundation.exp($0 - top) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }
}
