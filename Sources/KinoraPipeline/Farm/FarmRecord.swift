import Foundation
import KinoraMedia

/// What one part of a farm (a shard, or the assembly) did and is doing, kept in the farm's folder and rewritten as its
/// stages finish: `kinora farm status` prints them, and shards and the assembly check each other's versions in them.
public struct FarmRecord: Sendable, Hashable, Codable {
    /// Where the part is.
    public enum State: String, Sendable, Hashable, Codable {
        case running
        case done
        case failed
    }

    public var farm: String
    /// Nil for the assembly.
    public var shard: ShardIndex?
    /// The workflow file's absolute path.
    public var workflow: String
    public var mode: RenderMode
    public var workflowHash: String
    public var workHash: String
    public var host: String
    public var pid: Int32
    /// The process's start time (`WriterProcess`), which tells a live process from a reused id.
    public var processStart: UInt64?
    public var state: State
    /// The units it runs (`shots[0]`); empty for the assembly, which runs everything left.
    public var owners: [String]
    public var stagesTotal: Int
    /// Stages finished: computed, or found in the cache.
    public var stagesDone: Int
    /// Of those, computed by this part.
    public var stagesComputed: Int
    public var started: Date
    public var updated: Date
    /// Why it failed.
    public var error: String?

    /// A fresh record of this process, running, nothing done yet.
    public init(farm: String, shard: ShardIndex?, workflow: String, mode: RenderMode, version: FarmVersion,
                owners: [String], stagesTotal: Int, now: Date = Date()) {
        self.farm = farm
        self.shard = shard
        self.workflow = workflow
        self.mode = mode
        workflowHash = version.workflowHash
        workHash = version.workHash
        host = Self.currentHost
        pid = WriterProcess.current.pid
        processStart = WriterProcess.current.startTime
        state = .running
        self.owners = owners
        self.stagesTotal = stagesTotal
        stagesDone = 0
        stagesComputed = 0
        started = now
        updated = now
    }

    /// `shard 2/4` or `the assembly`.
    public var part: String { shard.map { "shard \($0)" } ?? "the assembly" }

    /// Whether its process still runs, when that can be told: nil for a record of another machine.
    public var processRuns: Bool? {
        guard host == Self.currentHost else { return nil }
        return WriterProcess(pid: pid, startTime: processStart).isRunning
    }

    /// This machine's name (`MachineName`).
    public static var currentHost: String { MachineName.current }
}
