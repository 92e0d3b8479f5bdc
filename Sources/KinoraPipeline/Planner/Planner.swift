/// Orders a stage graph into load, run and evict steps that keep the predicted device memory under the budget.
///
/// Order: the planner runs one model at a time and all of that model's ready work back to back, choosing next a
/// model none of whose remaining stages waits on another model's remaining work (so, for an acyclic chain such as
/// text encoder → UNet → VAE, every model is loaded exactly once); the model already resident goes first, then
/// the one whose first stage comes first in the graph. Host stages run as soon as their inputs are done. A model no
/// remaining stage needs is evicted right away; one still needed stays resident unless the next model does not fit
/// beside it.
///
/// Tactics: for each batch the planner walks the model's tactics best first and, for each, the largest batch of
/// same-signature stages first, and takes the first whose predicted peak (weights of every resident model + the
/// batch's activations) fits the budget — with the model's weights resident first, then, for a model that can
/// stream them block by block (`StageModel.streamedWeightBytes`), streamed: slower (every pass uploads them again)
/// but holding one block at a time. A model whose stages fit no way is a `PlanError.doesNotFit` naming the stage and
/// the smallest peak it could reach.
///
/// LoRA adapters merged into a model's weights as they upload (`StageModel.uploadScratchBytes`) add their merge
/// scratch to the peak of the model's load, and to every run's peak when its weights stream (each pass merges the
/// blocks it uploads again).
public struct Planner: Sendable {
    public var device: DeviceProfile

    public init(device: DeviceProfile) {
        self.device = device
    }

    /// The plan for `graph`; throws `PlanError.doesNotFit` naming the stage and the smallest peak it could reach.
    public func plan(_ graph: StageGraph) throws -> Plan {
        var state = PlanState(graph: graph, device: device)
        for stage in graph.stages {
            if let key = stage.model, graph.models[key] == nil {
                throw PlanError.unboundModel(stage: stage.id, key: key)
            }
        }
        while !state.remaining.isEmpty {
            state.runReadyHostStages()
            guard !state.remaining.isEmpty else { break }
            guard let key = state.nextModel() else {
                throw PlanError.cycle(stages: graph.stages.map(\.id).filter { state.remaining.contains($0) })
            }
            try state.runGroup(of: key)
        }
        state.evictAll()
        return Plan(file: graph.file, mode: graph.mode, device: device, steps: state.steps)
    }
}

/// The planner's progress through a graph.
private struct PlanState {
    let graph: StageGraph
    let device: DeviceProfile
    let order: [String: Int]
    var remaining: Set<String>
    var done: Set<String> = []
    /// Each model's stages (host stages under ""), in graph order, less a prefix of finished ones: a model's next
    /// ready stage is found without scanning the whole graph, so a stream's hundreds of chunks plan in linear time.
    var pending: [String: ArraySlice<Stage>]
    /// Resident models by key with their bytes on the device and whether their weights stream.
    var resident: [(key: String, bytes: UInt64, streamed: Bool)] = []
    var steps: [PlanStep] = []

    init(graph: StageGraph, device: DeviceProfile) {
        self.graph = graph
        self.device = device
        order = Dictionary(uniqueKeysWithValues: graph.stages.enumerated().map { ($1.id, $0) })
        remaining = Set(graph.stages.map(\.id))
        pending = Dictionary(grouping: graph.stages) { $0.model ?? "" }.mapValues { ArraySlice($0) }
    }

    var residentBytes: UInt64 { resident.reduce(0) { $0 + $1.bytes } }

    func isReady(_ stage: Stage) -> Bool { stage.inputs.allSatisfy(done.contains) }

    func remainingStages(where predicate: (Stage) -> Bool) -> [Stage] {
        graph.stages.filter { remaining.contains($0.id) && predicate($0) }
    }

    /// The remaining stages of `key` ("" for host stages), in graph order.
    mutating func remainingStages(of key: String) -> [Stage] {
        while let first = pending[key]?.first, done.contains(first.id) { pending[key]?.removeFirst() }
        return (pending[key] ?? []).filter { remaining.contains($0.id) }
    }

    /// The first remaining stage of `key` whose inputs are done.
    mutating func firstReady(of key: String) -> Stage? {
        while let first = pending[key]?.first, done.contains(first.id) { pending[key]?.removeFirst() }
        return pending[key]?.first { remaining.contains($0.id) && isReady($0) }
    }

    mutating func runReadyHostStages() {
        var progressed = true
        while progressed {
            progressed = false
            for stage in remainingStages(of: "") where isReady(stage) {
                steps.append(PlanStep(action: .run, stages: [stage.id], kind: stage.kind,
                                      weightBytes: residentBytes, peakBytes: residentBytes,
                                      estimatedSeconds: HostStageTimes.estimatedSeconds(for: stage, in: graph)))
                finish(stage.id)
                progressed = true
            }
        }
    }

    mutating func finish(_ id: String) {
        remaining.remove(id)
        done.insert(id)
    }

    /// Whether some remaining stage of `key` waits (directly or through host stages) on remaining work of another
    /// model.
    func waitsOnOtherModels(_ key: String) -> Bool {
        var visited: Set<String> = []
        var stack = remainingStages(where: { $0.model == key }).flatMap(\.inputs)
        while let id = stack.popLast() {
            guard remaining.contains(id), visited.insert(id).inserted, let stage = graph.stage(id) else { continue }
            if let model = stage.model, model != key { return true }
            stack += stage.inputs
        }
        return false
    }

    func nextModel() -> String? {
        let ready = remainingStages(where: { $0.model != nil && isReady($0) })
        var keys: [String] = []
        for key in ready.compactMap(\.model) where !keys.contains(key) { keys.append(key) }
        let complete = keys.filter { !waitsOnOtherModels($0) }
        let candidates = complete.isEmpty ? keys : complete
        return candidates.first { key in resident.contains { $0.key == key } } ?? candidates.first
    }

    /// Runs every stage of `key` that is or becomes ready, in batches, then evicts the model if nothing else needs
    /// it.
    mutating func runGroup(of key: String) throws {
        guard let model = graph.models[key] else { return }
        while let first = firstReady(of: key) {
            var batch = [first]
            if let signature = first.batchSignature {
                batch = Array(remainingStages(of: key).filter { isReady($0) && $0.batchSignature == signature }
                    .prefix(max(1, model.maximumBatch(for: first))))
            }
            try runBatch(batch, model: model, key: key)
            runReadyHostStages()
        }
        if remainingStages(of: key).isEmpty {
            evict(key)
        }
    }

    /// Chooses the tactic and batch size for (a prefix of) `stages`, loading or evicting as needed, and records
    /// the run.
    mutating func runBatch(_ stages: [Stage], model: any StageModel, key: String) throws {
        if let choice = choose(stages, model: model, key: key, others: residentBytes(except: key), streamed: false) {
            commit(choice, model: model, key: key)
            return
        }
        // Nothing fits beside the other resident models: evict them (they will be loaded again) and retry, with
        // the weights resident and then, as the last resort, streamed.
        for other in resident.map(\.key) where other != key { evict(other) }
        if let choice = choose(stages, model: model, key: key, others: 0, streamed: false)
            ?? choose(stages, model: model, key: key, others: 0, streamed: true) {
            commit(choice, model: model, key: key)
            return
        }
        let smallest = smallestPeak(stages[0], model: model)
        throw PlanError.doesNotFit(stage: stages[0].id, model: model.identity.name, neededBytes: smallest.bytes,
                                   budgetBytes: device.budgetBytes, tactic: smallest.tactic.description)
    }

    func residentBytes(except key: String) -> UInt64 {
        resident.filter { $0.key != key }.reduce(0) { $0 + $1.bytes }
    }

    struct Choice {
        var stages: [Stage]
        var tactic: Tactic
        var weightBytes: UInt64
        var activationBytes: UInt64
        var peakBytes: UInt64
    }

    /// The model's tactics for `stage`, best first, with the weights they hold: with the weights resident, or
    /// streamed (none when the model cannot stream).
    func weightedTactics(_ stage: Stage, model: any StageModel, streamed: Bool)
        -> [(tactic: Tactic, weights: UInt64)] {
        let tactics = model.tactics(for: stage)
        guard streamed else { return tactics.map { ($0, model.weightBytes) } }
        guard let streamedBytes = model.streamedWeightBytes else { return [] }
        return tactics.map { tactic in
            var tactic = tactic
            tactic.streamedWeights = true
            return (tactic, streamedBytes)
        }
    }

    /// Whether running with the weights `streamed` loads `key` (it is not resident, or resident the other way).
    func loads(_ key: String, streamed: Bool) -> Bool {
        !resident.contains { $0.key == key && $0.streamed == streamed }
    }

    /// The first fitting (tactic, batch size) with the weights resident, or streamed, or nil. A load's merge scratch
    /// must fit beside the weights too, and with streamed weights beside every pass's activations.
    func choose(_ stages: [Stage], model: any StageModel, key: String, others: UInt64, streamed: Bool) -> Choice? {
        let scratch = model.uploadScratchBytes
        for (base, weights) in weightedTactics(stages[0], model: model, streamed: streamed) {
            for size in stride(from: stages.count, through: 1, by: -1) {
                let tactic = base.batched(size)
                let batch = Array(stages.prefix(size))
                let activation = model.activationBytes(for: batch, tactic: tactic) + (streamed ? scratch : 0)
                let peak = others + weights + activation
                let loadPeak = loads(key, streamed: streamed) ? others + weights + scratch : 0
                if max(peak, loadPeak) <= device.budgetBytes {
                    return Choice(stages: batch, tactic: tactic, weightBytes: weights, activationBytes: activation,
                                  peakBytes: peak)
                }
            }
        }
        return nil
    }

    /// The smallest peak any tactic reaches for `stage` alone on an empty device, for the error message.
    func smallestPeak(_ stage: Stage, model: any StageModel) -> (bytes: UInt64, tactic: Tactic) {
        var best: (UInt64, Tactic)?
        for (tactic, weights) in weightedTactics(stage, model: model, streamed: false)
            + weightedTactics(stage, model: model, streamed: true) {
            let scratch = model.uploadScratchBytes
            let activation = model.activationBytes(for: [stage], tactic: tactic)
            let peak = weights + (tactic.streamedWeights ? activation + scratch : max(activation, scratch))
            if peak < best?.0 ?? .max { best = (peak, tactic) }
        }
        return best ?? (model.weightBytes, Tactic())
    }

    mutating func commit(_ choice: Choice, model: any StageModel, key: String) {
        let streamed = choice.tactic.streamedWeights
        // A model loaded the other way (resident, now to be streamed, or back) is loaded again.
        if let loaded = resident.first(where: { $0.key == key }), loaded.streamed != streamed { evict(key) }
        if !resident.contains(where: { $0.key == key }) {
            resident.append((key, choice.weightBytes, streamed))
            steps.append(PlanStep(action: .load, model: model.identity.name, modelKey: key,
                                  tactic: Tactic(streamedWeights: streamed), weightBytes: choice.weightBytes,
                                  peakBytes: residentBytes + model.uploadScratchBytes,
                                  estimatedSeconds: device.loadSeconds(choice.weightBytes),
                                  adapters: model.adapters.isEmpty ? nil : model.adapters,
                                  mergeScratchBytes: model.adapters.isEmpty ? nil : model.uploadScratchBytes))
        }
        steps.append(PlanStep(action: .run, model: model.identity.name, modelKey: key,
                              stages: choice.stages.map(\.id), kind: choice.stages[0].kind, tactic: choice.tactic,
                              weightBytes: residentBytes, activationBytes: choice.activationBytes,
                              peakBytes: residentBytes + choice.activationBytes,
                              estimatedSeconds: model.estimatedSeconds(for: choice.stages, tactic: choice.tactic,
                                                                       device: device)
                                  * device.timeFactor(family: model.identity.family, kind: choice.stages[0].kind)))
        choice.stages.forEach { finish($0.id) }
    }

    mutating func evict(_ key: String) {
        guard let index = resident.firstIndex(where: { $0.key == key }) else { return }
        let entry = resident.remove(at: index)
        steps.append(PlanStep(action: .evict, model: graph.models[key]?.identity.name, modelKey: key,
                              weightBytes: entry.bytes, peakBytes: residentBytes))
    }

    mutating func evictAll() {
        for key in resident.map(\.key) { evict(key) }
    }
}
