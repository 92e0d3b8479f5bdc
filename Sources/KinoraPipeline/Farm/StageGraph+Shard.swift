extension StageGraph {
    /// The sub-graph that makes `owners`' results: every stage one of them owns and, transitively, every stage it
    /// consumes (whoever owns it), in graph order, with only the models those stages run. Its stages keep their ids,
    /// inputs and so their cache keys, so what a shard stores is what the whole render looks up. A stage two shards
    /// need (an input identical work shares) is in both sub-graphs.
    public func restricted(toOwners owners: some Sequence<String>) -> StageGraph {
        let wanted = Set(owners)
        let byID = Dictionary(stages.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var needed: Set<String> = []
        var stack = stages.filter { !wanted.isDisjoint(with: $0.owners) }.map(\.id)
        while let id = stack.popLast() {
            guard needed.insert(id).inserted, let stage = byID[id] else { continue }
            stack += stage.inputs
        }
        let kept = stages.filter { needed.contains($0.id) }
        let keys = Set(kept.compactMap(\.model))
        return StageGraph(file: file, mode: mode, stages: kept, models: models.filter { keys.contains($0.key) })
    }
}
