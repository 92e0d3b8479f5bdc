import Foundation

/// What makes the parts of a farm one render: the workflow file's bytes with the render mode (`workflowHash`), and the
/// cache keys of the work its shards share out (`workHash`), which change with the models' files too. Every shard and
/// the assembly record theirs; a part that finds another version refuses to run.
public struct FarmVersion: Sendable, Hashable {
    public var workflowHash: String
    public var workHash: String

    public init(workflowHash: String, workHash: String) {
        self.workflowHash = workflowHash
        self.workHash = workHash
    }

    /// The version of `graph`, built from the workflow at `workflow` for its mode.
    public init(workflow: URL, graph: StageGraph) throws {
        workflowHash = try Self.workflowHash(of: workflow, mode: graph.mode)
        let keys = StageKeys.compute(graph)
        let owners = ShardPartition(graph: graph, count: 1).units.map(\.owner)
        var hash = SHA256()
        for stage in graph.restricted(toOwners: owners).stages {
            hash.update(stage.id + " " + (keys[stage.id] ?? "") + "\n")
        }
        workHash = hash.hexDigest()
    }

    /// SHA-256 of the workflow file's bytes and `mode`. Throws `FarmError.storage` naming the file.
    public static func workflowHash(of workflow: URL, mode: RenderMode) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: workflow)
        } catch {
            throw FarmError.storage(path: workflow.path, reason: error.localizedDescription)
        }
        var hash = SHA256()
        hash.update(data)
        hash.update("\nmode " + mode.rawValue)
        return hash.hexDigest()
    }
}
