/// How one step of the plan runs a model: how many stages go through it at once, whether classifier-free
/// guidance's two halves share a pass, and whether the decode is tiled.
public struct Tactic: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Classifier-free guidance.
    public enum Guidance: String, Sendable, Hashable, Codable {
        /// No guidance (scale ≤ 1), or not a guided stage.
        case none
        /// Conditional and unconditional halves in one pass of batch 2.
        case batched
        /// The two halves one after the other: half the activations, a little slower.
        case sequential
    }

    /// Stages run together.
    public var batch: Int
    public var guidance: Guidance
    /// Latent tile edge of a tiled decode, or an upscale's tile side in input pixels; nil: untiled (an upscale: the
    /// whole frame, in tiles of 1024 pixels when larger).
    public var tileLatentSize: Int?
    /// Weights streamed block by block from host memory instead of resident: one block on the device at a time,
    /// every pass uploading them again. The planner chooses it only when no resident tactic fits.
    public var streamedWeights: Bool

    public init(batch: Int = 1, guidance: Guidance = .none, tileLatentSize: Int? = nil,
                streamedWeights: Bool = false) {
        self.batch = batch
        self.guidance = guidance
        self.tileLatentSize = tileLatentSize
        self.streamedWeights = streamedWeights
    }

    /// The same tactic for a batch of `batch`.
    public func batched(_ batch: Int) -> Tactic {
        var copy = self
        copy.batch = batch
        return copy
    }

    /// `batch 2, CFG batched, tiles 64, weights streamed`, leaving out what does not apply.
    public var description: String {
        var parts = ["batch \(batch)"]
        if guidance != .none { parts.append("CFG \(guidance.rawValue)") }
        if let tileLatentSize { parts.append("tiles \(tileLatentSize)") }
        if streamedWeights { parts.append("weights streamed") }
        return parts.joined(separator: ", ")
    }
}
