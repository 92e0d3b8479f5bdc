import Foundation

/// Why a farmed render's shard or assembly refuses to run, or a farm cannot be prepared.
public enum FarmError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `--shard` given as something other than I/N with 1 ≤ I ≤ N.
    case invalidShard(String, reason: String)
    /// A farm name that is not one plain file name.
    case invalidName(String)
    /// The farm's marker is not in the cache folder: the farm was never prepared here, or this machine sees another
    /// folder than the one it was prepared in.
    case notPrepared(farm: String, marker: String)
    /// A shard of another count than the farm was prepared for.
    case shardCount(farm: String, prepared: Int, shard: ShardIndex)
    /// The workflow read now is not the version the farm was prepared with.
    case workflowChanged(farm: String, workflow: String, prepared: String, found: String)
    /// Another part of the farm rendered another version: of the workflow file, or of the work (the models' files
    /// differ between the machines, so the stages' cache keys do).
    case otherVersion(farm: String, part: String, host: String, what: VersionPart)
    /// The assembly found shards not done; each entry says which and why.
    case notReady(farm: String, problems: [String])
    /// The marker, a record or the workflow file cannot be read or written.
    case storage(path: String, reason: String)

    /// What differs between two parts of a farm.
    public enum VersionPart: String, Sendable, Equatable {
        case workflow
        case work
    }

    public var description: String {
        switch self {
        case .invalidShard(let text, let reason):
            return "--shard \(text): \(reason)"
        case .invalidName(let name):
            return "'\(name)' is not a farm name: use letters, digits, '.', '_' and '-' (not starting with '.')"
        case .notPrepared(let farm, let marker):
            return "farm '\(farm)' was not prepared in this cache folder (no \(marker)): prepare it with "
                + "`kinora farm slurm` or `kinora farm init` on a cache folder every machine of the farm shares "
                + "(--cache-dir on a shared filesystem); a machine that does not see the marker writes to another "
                + "folder than the farm's"
        case .shardCount(let farm, let prepared, let shard):
            return "--shard \(shard): farm '\(farm)' was prepared for \(prepared) shard\(prepared == 1 ? "" : "s"), "
                + "not \(shard.count); prepare it again for \(shard.count) or run shards I/\(prepared)"
        case .workflowChanged(let farm, let workflow, let prepared, let found):
            return "\(workflow) is not the version farm '\(farm)' was prepared with (workflow hash "
                + "\(Self.short(prepared)), now \(Self.short(found))): it changed since, or this machine sees another "
                + "copy; prepare the farm again and run every shard again"
        case .otherVersion(let farm, let part, let host, let what):
            switch what {
            case .workflow:
                return "\(part) of farm '\(farm)' (on \(host)) rendered another version of the workflow: every "
                    + "shard must read the same file; prepare the farm again and run every shard again"
            case .work:
                return "\(part) of farm '\(farm)' (on \(host)) computed other stage keys than this machine: the "
                    + "models' files differ between the two (another path, size or modification time), so this "
                    + "machine could not use its results; give every machine the same model folders"
            }
        case .notReady(let farm, let problems):
            return "farm '\(farm)' is not ready to assemble: " + problems.joined(separator: "; ")
        case .storage(let path, let reason):
            return "\(path): \(reason)"
        }
    }

    /// The first 12 digits of a hash, enough to tell versions apart in a message.
    static func short(_ hash: String) -> String { String(hash.prefix(12)) }
}
