/// A workflow as stages: every shot, voice line and music cue expanded into the stages that make it, each bound to
/// the model that runs it, in an order where every stage comes after its inputs.
public struct StageGraph: Sendable {
    /// The workflow file the graph was built from.
    public var file: String
    public var mode: RenderMode
    /// Inputs first.
    public var stages: [Stage]
    /// By `ModelIdentity.key`.
    public var models: [String: any StageModel]

    public init(file: String, mode: RenderMode, stages: [Stage], models: [String: any StageModel]) {
        self.file = file
        self.mode = mode
        self.stages = stages
        self.models = models
    }

    /// The stage with `id`.
    public func stage(_ id: String) -> Stage? {
        stages.first { $0.id == id }
    }

    /// The model `stage` runs, or nil for host stages.
    public func model(of stage: Stage) -> (any StageModel)? {
        stage.model.flatMap { models[$0] }
    }
}
