/// One step of a plan: load a model, run stages (one batch), or evict a model, with the memory it predicts.
public struct PlanStep: Sendable, Hashable, Codable {
    /// What the step does.
    public enum Action: String, Sendable, Hashable, Codable {
        /// Read the weights and upload them (or prepare them for streaming).
        case load
        /// Run the stages.
        case run
        /// Free the weights.
        case evict
    }

    public var action: Action
    /// The model's display name (`hero/unet`); nil for host stages.
    public var model: String?
    /// The model's `ModelIdentity.key`.
    public var modelKey: String?
    /// Stage ids run together (run steps).
    public var stages: [String]
    public var kind: StageKind?
    public var tactic: Tactic?
    /// Weight bytes the step loads, frees, or keeps resident while it runs (all models on the device).
    public var weightBytes: UInt64
    /// Activation bytes of the run on top of the resident weights.
    public var activationBytes: UInt64
    /// Predicted device bytes at the step's peak.
    public var peakBytes: UInt64
    public var estimatedSeconds: Double
    /// Load steps of a model with LoRA adapters: each merged into the weights as they upload (`file:strength`).
    public var adapters: [String]?
    /// Load steps of a model with LoRA adapters: the merge's device scratch, part of `peakBytes` (and of each run's
    /// peak when the weights stream).
    public var mergeScratchBytes: UInt64?

    public init(action: Action, model: String? = nil, modelKey: String? = nil, stages: [String] = [],
                kind: StageKind? = nil, tactic: Tactic? = nil, weightBytes: UInt64 = 0, activationBytes: UInt64 = 0,
                peakBytes: UInt64 = 0, estimatedSeconds: Double = 0, adapters: [String]? = nil,
                mergeScratchBytes: UInt64? = nil) {
        self.action = action
        self.model = model
        self.modelKey = modelKey
        self.stages = stages
        self.kind = kind
        self.tactic = tactic
        self.weightBytes = weightBytes
        self.activationBytes = activationBytes
        self.peakBytes = peakBytes
        self.estimatedSeconds = estimatedSeconds
        self.adapters = adapters
        self.mergeScratchBytes = mergeScratchBytes
    }
}
