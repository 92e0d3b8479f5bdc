import Foundation

/// Runs stages for real: loads and frees models and executes batches of stages. The executor drives it through a
/// plan and the cache; the CLI implements it with the actual pipelines.
public protocol StageRunner: AnyObject {
    /// Makes `model` ready: uploads its weights, or prepares them for block-by-block streaming.
    func load(_ model: any StageModel, streamed: Bool) throws
    /// Frees `model`'s device memory.
    func evict(_ model: any StageModel) throws
    /// Runs `stages` together (`model` nil for host stages). Each stage reads its inputs from the folders in
    /// `inputs` (by input stage id) and writes its result into its folder in `outputs` (by stage id). Progress goes
    /// to `step(stageID, stepsDone)`. Returns the device peak measured during the run, when the runner measures one.
    func run(_ stages: [Stage], model: (any StageModel)?, tactic: Tactic?, inputs: [String: URL],
             outputs: [String: URL], step: (String, Int) -> Void) throws -> UInt64?
}
