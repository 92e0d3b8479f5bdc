import KinoraTensor

extension MusicGenDecoder {
    /// What one generation asks of the decoder.
    public struct Generation {
        /// The text encoder's states of the prompt [1, L_text, textWidth] row-major, and its mask (1 per token).
        public var textStates: [Float]
        public var textMask: [Int]
        public var pattern: MusicGenDelayPattern
        public var sampling: MusicGenSampling
        public var seed: UInt64
        /// The activation precision of the decoder's passes, its KV cache's storage with them (nil: the weights'
        /// type, `MusicGenDecoder.activationType`).
        public var precision: ActivationPrecision?

        public init(textStates: [Float], textMask: [Int], pattern: MusicGenDelayPattern, sampling: MusicGenSampling,
                    seed: UInt64, precision: ActivationPrecision? = nil) {
            self.textStates = textStates
            self.textMask = textMask
            self.pattern = pattern
            self.sampling = sampling
            self.seed = seed
            self.precision = precision
        }
    }

    /// The codes [codebook][frame] of `generation.pattern.frames` frames (an audio prompt's first): the positions up to
    /// the first generated one fed at once, then one step per position, each step's codes chosen from the guided
    /// scores (`MusicGenSampling`) where the pattern does not fix them, as transformers' `generate` does.
    ///
    /// Sampling draws one uniform per codebook per step from `TorchRandom(seed:)` (torch.rand's 24-bit floats) and
    /// takes the code at that point of the cumulative distribution; transformers samples with torch.multinomial,
    /// another algorithm, so a seed reproduces Kinora's codes, not transformers'.
    /// - Parameters:
    ///   - forced: test hook: the delayed sequence [codebook][position] to feed instead of the chosen codes.
    ///   - scores: receives each step's processed scores, [codebook][code].
    ///   - progress: steps done and total.
    public func generate(
        _ generation: Generation, arena: ActivationArena, forced: [[Int]]? = nil,
        scores: ([[Float]]) -> Void = { _ in }, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> [[Int]] {
        let sampling = generation.sampling
        try sampling.validate()
        let pattern = generation.pattern
        let textLength = generation.textMask.count
        guard textLength > 0, generation.textStates.count == textLength * textWidth else {
            throw MusicGenError.invalidSetting("text states of \(generation.textStates.count) values do not match "
                + "\(textLength) tokens of width \(textWidth)")
        }
        guard pattern.codebooks == configuration.numCodebooks, pattern.pad == configuration.padTokenID,
              pattern.audioChannels == configuration.audioChannels else {
            throw MusicGenError.invalidSetting("the delay pattern is not this decoder's")
        }
        for code in pattern.prompt.joined() where !(0..<configuration.vocabSize).contains(code) {
            throw MusicGenError.invalidSetting("prompt code \(code) is outside 0..<\(configuration.vocabSize)")
        }
        let guided = sampling.guided
        let batch = guided ? 2 : 1
        var states = generation.textStates
        var masks = [generation.textMask]
        if guided {
            states += [Float](repeating: 0, count: states.count)
            masks.append([Int](repeating: 0, count: textLength))
        }
        let cache = try makeCache(
            textStates: Tensor(states, shape: [batch, textLength, textWidth], on: arena.device), textMask: masks,
            capacity: pattern.positions - 1, arena: arena, precision: generation.precision)

        let (codebooks, vocabulary) = (configuration.numCodebooks, configuration.vocabSize)
        var sequence = (0..<codebooks).map { codebook in
            (0..<pattern.positions).map { pattern.fixed(codebook: codebook, position: $0) ?? -1 }
        }
        var random = TorchRandom(seed: generation.seed)
        let start = pattern.firstGenerated
        let total = pattern.positions - start
        var fed = 0
        for position in start..<pattern.positions {
            let columns = (fed..<position).map { column in (0..<codebooks).map { sequence[$0][column] } }
            let codes = (0..<codebooks).map { codebook in columns.map { $0[codebook] } }
            let logits = try self.logits(Array(repeating: codes, count: batch), cache: cache, arena: arena)
            fed = position
            var stepScores: [[Float]] = []
            for codebook in 0..<codebooks {
                let conditional = logits[(codebook * vocabulary)..<((codebook + 1) * vocabulary)]
                let offset = codebooks * vocabulary
                let unconditional = guided
                    ? logits[(offset + codebook * vocabulary)..<(offset + (codebook + 1) * vocabulary)] : nil
                let processed = sampling.scores(conditional: conditional, unconditional: unconditional)
                let uniform = sampling.sample ? Float(random.nextUInt32() & 0xFF_FFFF) * 0x1p-24 : 0
                let chosen = sampling.choose(processed, uniform: uniform)
                if sequence[codebook][position] == -1 { sequence[codebook][position] = chosen }
                if let forced, position < forced[codebook].count {
                    sequence[codebook][position] = forced[codebook][position]
                }
                stepScores.append(processed)
            }
            scores(stepScores)
            progress(position - start + 1, total)
        }
        return pattern.frames(of: sequence)
    }
}
