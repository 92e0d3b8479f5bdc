/// What the planner knows about a model component: its identity, its weight bytes, what a stage needs in memory
/// and time under each tactic, and which tactics it offers. KinoraPipeline knows models only through this protocol.
public protocol StageModel: Sendable {
    var identity: ModelIdentity { get }
    /// Device bytes of the weights when fully resident.
    var weightBytes: UInt64 { get }
    /// Device bytes the weights take while streamed block by block (the largest block and what always stays); nil
    /// when the model cannot stream.
    var streamedWeightBytes: UInt64? { get }
    /// Device bytes held beyond the weights only while they upload (the scratch of merging LoRA adapters into
    /// them), on every pass when they stream.
    var uploadScratchBytes: UInt64 { get }
    /// The LoRA adapters merged into the weights as they load (`style.safetensors:0.8`), as plans list them.
    var adapters: [String] { get }
    /// The tactics for `stage` (batch 1), best first. The planner takes the first that fits with the weights
    /// resident, then the first that fits with them streamed.
    func tactics(for stage: Stage) -> [Tactic]
    /// The most stages of this kind and signature one pass can take.
    func maximumBatch(for stage: Stage) -> Int
    /// Device bytes beyond the weights (activations, inputs and outputs) of running `stages` together.
    func activationBytes(for stages: [Stage], tactic: Tactic) -> UInt64
    /// Seconds to run `stages` together on `device`.
    func estimatedSeconds(for stages: [Stage], tactic: Tactic, device: DeviceProfile) -> Double
}

extension StageModel {
    public var uploadScratchBytes: UInt64 { 0 }
    public var adapters: [String] { [] }
}
