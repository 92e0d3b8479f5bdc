import Foundation

/// The file `kinora farm slurm` and `kinora farm init` write into a farm's folder before any shard runs
/// (`farm.json`): which workflow version and how many shards the farm was prepared for. A shard that does not find it
/// sees another cache folder than the one the farm was prepared in (the folder is not shared); one that finds another
/// workflow hash or shard count refuses too.
public struct FarmMarker: Sendable, Hashable, Codable {
    public var farm: String
    /// The workflow file's absolute path.
    public var workflow: String
    public var mode: RenderMode
    public var workflowHash: String
    public var shards: Int
    /// The machine that prepared the farm.
    public var host: String
    public var prepared: Date

    public init(farm: String, workflow: String, mode: RenderMode, workflowHash: String, shards: Int, host: String,
                prepared: Date) {
        self.farm = farm
        self.workflow = workflow
        self.mode = mode
        self.workflowHash = workflowHash
        self.shards = shards
        self.host = host
        self.prepared = prepared
    }
}
