import Foundation

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

    /// The container a file is written in, from its extension (lowercased; `mp4` when it has none).
    public static func container(of file: String) -> String {
        let pathExtension = URL(fileURLWithPath: file).pathExtension.lowercased()
        return pathExtension.isEmpty ? "mp4" : pathExtension
    }

    /// The graph with the mux stage writing the container of `file` (such as `kinora render -o out.mkv`) instead of
    /// the workflow's `output.file`; its cache key changes with it.
    public func writing(to file: String) -> StageGraph {
        var copy = self
        for index in copy.stages.indices where copy.stages[index].kind == .mux {
            copy.stages[index].parameters["container"] = .string(Self.container(of: file))
        }
        return copy
    }
}
