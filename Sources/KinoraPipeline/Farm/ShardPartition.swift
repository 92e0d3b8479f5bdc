/// How a farmed render's independent work is split between its shards. The units are the workflow items a stage
/// works for (`Stage.owners`): each shot, voice line and music cue; the output's assembly (joining the cut, the
/// output's upscale and interpolation, the mix, the mux: the owners in `assemblyOwners`) is left to the render that
/// assembles. Units go longest first onto the least loaded shard, ties to the earlier unit and the lower shard.
///
/// Every shard computes the partition on its own, at its own time, on its own machine, so it must come out the same
/// everywhere: a unit's time is estimated on `referenceDevice` with each stage's first tactic and no calibration,
/// never from the local device or `timings.json` (which changes as shards finish).
public struct ShardPartition: Sendable, Hashable {
    /// One independent item of work.
    public struct Unit: Sendable, Hashable {
        /// The owner, such as `shots[2]`.
        public var owner: String
        /// Seconds on the reference device of the stages it owns; a stage several units own is shared out evenly.
        public var estimatedSeconds: Double
    }

    /// The owners whose stages only the assembly runs.
    public static let assemblyOwners: Set<String> = ["output", "mix"]

    /// The device every shard estimates on: a mid-range discrete GPU's nominal rates (`DeviceProfile`'s defaults).
    /// Its budget plays no part: each stage is estimated with its model's first tactic.
    public static let referenceDevice = DeviceProfile(budgetBytes: 0)

    /// In workflow order (the order the graph first names them).
    public let units: [Unit]
    /// The owners each shard runs (the first array is shard 1's), in workflow order.
    public let shares: [[String]]

    /// Splits `graph`'s units into `count` shares (some empty when there are fewer units than shards).
    public init(graph: StageGraph, count: Int) {
        var order: [String] = []
        var seconds: [String: Double] = [:]
        for stage in graph.stages {
            let owners = stage.owners.filter { !Self.assemblyOwners.contains($0) }
            guard !owners.isEmpty else { continue }
            let share = Self.estimatedSeconds(of: stage, in: graph) / Double(owners.count)
            for owner in owners {
                if seconds[owner] == nil { order.append(owner) }
                seconds[owner, default: 0] += share
            }
        }
        let units = order.map { Unit(owner: $0, estimatedSeconds: seconds[$0] ?? 0) }
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        let longestFirst = units.enumerated().sorted { lhs, rhs in
            lhs.element.estimatedSeconds != rhs.element.estimatedSeconds
                ? lhs.element.estimatedSeconds > rhs.element.estimatedSeconds : lhs.offset < rhs.offset
        }
        var loads = [Double](repeating: 0, count: max(count, 1))
        var shares = [[String]](repeating: [], count: max(count, 1))
        for (_, unit) in longestFirst {
            // The least loaded shard; the lowest index among equals.
            var target = 0
            for index in loads.indices where loads[index] < loads[target] { target = index }
            loads[target] += unit.estimatedSeconds
            shares[target].append(unit.owner)
        }
        self.units = units
        self.shares = shares.map { owners in owners.sorted { position[$0, default: 0] < position[$1, default: 0] } }
    }

    /// The owners `shard` runs.
    public func owners(of shard: ShardIndex) -> [String] {
        shard.index <= shares.count ? shares[shard.index - 1] : []
    }

    /// The reference estimate of `shard`'s units.
    public func estimatedSeconds(of shard: ShardIndex) -> Double {
        let owners = Set(owners(of: shard))
        return units.filter { owners.contains($0.owner) }.reduce(0) { $0 + $1.estimatedSeconds }
    }

    /// `stage`'s seconds on the reference device: its model's estimate with its first tactic, alone, or the host's.
    static func estimatedSeconds(of stage: Stage, in graph: StageGraph) -> Double {
        guard let model = graph.model(of: stage) else {
            return HostStageTimes.estimatedSeconds(for: stage, in: graph)
        }
        let tactic = model.tactics(for: stage).first ?? Tactic()
        return model.estimatedSeconds(for: [stage], tactic: tactic, device: referenceDevice)
    }
}
