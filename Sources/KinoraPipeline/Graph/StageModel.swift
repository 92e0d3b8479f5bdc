/// What the planner knows about a model component: its identity, its weight bytes, what a stage needs in memory
/// and time under each tactic, and which tactics it offers. KinoraPipeline knows models only through this protocol.
public protocol StageModel: Sendable {
    var identity: ModelIdentity { get }
    /// Device bytes of the weights when fully resident.
    var weightBytes: UInt64 { get }
    /// Device bytes the weights would take while streamed block by block (two blocks: one in use, one uploading);
    /// nil when the model cannot stream. The planner does not offer streaming until the runners implement it.
    var streamedWeightBytes: UInt64? { get }
    /// The tactics for `stage` (batch 1), best first. The planner takes the first that fits with the weights
    /// fully resident.
    func tactics(for stage: Stage) -> [Tactic]
    /// The most stages of this kind and signature one pass can take.
    func maximumBatch(for stage: Stage) -> Int
    /// Device bytes beyond the weights (activations, inputs and outputs) of running `stages` together.
    func activationBytes(for stages: [Stage], tactic: Tactic) -> UInt64
    /// Seconds to run `stages` together on `device`.
    func estimatedSeconds(for stages: [Stage], tactic: Tactic, device: DeviceProfile) -> Double
}
