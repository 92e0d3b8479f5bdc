import Foundation
import KinoraMedia

/// Follows a plan: takes each stage's result from the cache when it is there, otherwise loads the model (only when
/// some stage actually needs it), runs the batch through the `StageRunner` and stores each result under its key.
/// A render that was killed therefore resumes from the stages it had finished.
///
/// A damaged cache entry is reported (`ProgressEvent.cacheDiscarded`, the report's `cacheDiscarded`), removed and
/// its stage computed again: at lookup, when its files do not match its manifest; and when a batch fails and one of
/// its inputs' entries no longer matches its manifest or is named in the runner's error (a file it could not read).
/// Every stage is computed at most once per render, so a stage whose freshly computed input still cannot be read
/// fails, naming that input's entry.
public final class RenderExecutor {
    public let graph: StageGraph
    public let plan: Plan
    public let runner: any StageRunner
    /// Where results go; with `useCache` false (`--no-cache`) a scratch store that is neither read from before
    /// nor kept after the render.
    public let cache: StageCache
    public let useCache: Bool
    private let sinks: [any ProgressSink]
    private let clock: () -> Double
    private let deliver: (Stage, URL) throws -> Void

    /// `deliver` is called with each stage and its result folder as soon as the result exists (run now or taken
    /// from the cache), while the folder is still there (a `--no-cache` render's scratch store is removed at the
    /// end); the CLI uses it to copy the final file out of the mux stage's result.
    public init(graph: StageGraph, plan: Plan, runner: any StageRunner, cache: StageCache, useCache: Bool = true,
                progress: [any ProgressSink] = [],
                clock: @escaping () -> Double = { ProcessInfo.processInfo.systemUptime },
                deliver: @escaping (Stage, URL) throws -> Void = { _, _ in }) {
        self.graph = graph
        self.plan = plan
        self.runner = runner
        self.cache = cache
        self.useCache = useCache
        sinks = progress
        self.clock = clock
        self.deliver = deliver
    }

    /// Why a render stopped.
    public struct Failure: Error, CustomStringConvertible {
        public var stage: String
        public var underlying: any Error
        /// What the executor knows beyond the error: the cache entry of an input the stage could not read.
        public var note: String? = nil

        public var description: String {
            "stage '\(stage)' failed: \(ErrorText.plain(underlying))" + (note.map { "; \($0)" } ?? "")
        }
    }

    /// A fault in following the plan itself, not in the runner or the cache.
    public enum PlanFault: Error, Sendable, Equatable, CustomStringConvertible {
        /// A stage's input has no result (the plan runs the input later, or not at all).
        case missingInput(stage: String, input: String)
        /// A stage to compute again is in no run step of the plan.
        case unplannedStage(String)

        public var description: String {
            switch self {
            case .missingInput(let stage, let input):
                return "the result of input stage '\(input)' of '\(stage)' is missing"
            case .unplannedStage(let stage):
                return "stage '\(stage)' is in no step of the plan"
            }
        }
    }

    /// The runner failed on a batch (as opposed to the executor or the cache around it).
    private struct BatchFailure: Error {
        var underlying: any Error
    }

    /// What one `run` has done so far.
    private struct RenderState {
        let keys: [String: String]
        let store: StageCache
        /// Each finished stage's result folder, by stage id.
        var results: [String: URL] = [:]
        /// In the order the stages completed.
        var records: [RenderReport.StageRecord] = []
        /// Weight bytes of each loaded model, by model key.
        var loaded: [String: UInt64] = [:]
        /// Whether the plan streams each model's weights, by model key (from its latest load step).
        var streamed: [String: Bool] = [:]
        /// Stages computed (not taken from the cache) in this render: never computed twice.
        var computed: Set<String> = []
        /// Why each stage's cache entry was discarded, by stage id.
        var discarded: [String: String] = [:]

        /// Adds `record`, replacing an earlier one of the same stage (a cache hit computed again).
        mutating func record(_ record: RenderReport.StageRecord) {
            records.removeAll { $0.stage == record.stage }
            records.append(record)
        }
    }

    private func emit(_ event: ProgressEvent) {
        sinks.forEach { $0.receive(event) }
    }

    /// Runs the plan and returns the report. Throws `Failure` naming the stage whose run or storage failed.
    public func run() throws -> RenderReport {
        let start = clock()
        let keys = StageKeys.compute(graph)
        let store: StageCache
        var scratch: URL?
        if useCache {
            store = cache
        } else {
            let folder = FileManager.default.temporaryDirectory
                .appendingPathComponent("kinora-scratch-\(getpid())-\(UUID().uuidString)")
            store = try StageCache(root: folder)
            scratch = folder
        }
        defer { if let scratch { try? FileManager.default.removeItem(at: scratch) } }
        // Every entry this render looks up or produces stays until it ends, so a size limit never evicts a result
        // a later stage still reads; the cache is trimmed to its limit once the render is over.
        store.pin(keys.values)
        defer {
            store.unpin(keys.values)
            store.trim()
        }

        emit(.renderStarted(stages: graph.stages.count, totalSteps: graph.stages.reduce(0) { $0 + $1.steps },
                            estimatedSeconds: plan.estimatedSeconds, budgetBytes: plan.device.budgetBytes))
        var state = RenderState(keys: keys, store: store)
        for step in plan.steps {
            switch step.action {
            case .load:
                if let key = step.modelKey { state.streamed[key] = step.tactic?.streamedWeights ?? false }
            case .evict:
                guard let key = step.modelKey else { continue }
                try evict(key, blaming: step.stages.first, state: &state)
            case .run:
                let toRun = try lookUp(step, state: &state)
                guard !toRun.isEmpty else { continue }
                try execute(toRun, step: step, state: &state)
            }
        }
        let seconds = clock() - start
        emit(.renderFinished(seconds: seconds))
        return RenderReport(file: plan.file, mode: plan.mode, budgetBytes: plan.device.budgetBytes, seconds: seconds,
                            estimatedSeconds: plan.estimatedSeconds, stages: state.records)
    }

    /// Takes the step's stages that the cache has from it and returns the others, which must run. A damaged entry
    /// is discarded by the lookup and its stage runs.
    private func lookUp(_ step: PlanStep, state: inout RenderState) throws -> [Stage] {
        var toRun: [Stage] = []
        for id in step.stages {
            guard let stage = graph.stage(id), let key = state.keys[id] else { continue }
            guard useCache else {
                toRun.append(stage)
                continue
            }
            switch state.store.lookup(key) {
            case .hit(let entry):
                state.results[id] = entry.folder
                state.record(record(stage, step: step, key: key, seconds: 0, batchSize: 1, measured: nil, hit: true,
                                    discarded: nil))
                emit(.cacheHit(stage: id, key: key, steps: stage.steps))
                try handOver(stage, entry.folder)
            case .discarded(let reason):
                state.discarded[id] = reason
                emit(.cacheDiscarded(stage: id, reason: reason))
                toRun.append(stage)
            case .miss:
                toRun.append(stage)
            }
        }
        return toRun
    }

    /// Runs `stages` (some of `step`'s) as one batch, loading the step's model if it is not loaded, and stores
    /// their results. When the runner fails and inputs' entries look responsible (`suspects`), those entries are
    /// discarded, their stages computed again and the batch retried; as no stage is computed twice, this ends.
    private func execute(_ stages: [Stage], step: PlanStep, state: inout RenderState) throws {
        let ids = stages.map(\.id)
        while true {
            try load(step.modelKey, blaming: ids[0], state: &state)
            let failure: any Error
            do {
                let (seconds, measured) = try runBatch(stages, model: step.modelKey.flatMap { graph.models[$0] },
                                                       step: step, state: &state)
                for stage in stages {
                    state.computed.insert(stage.id)
                    state.record(record(stage, step: step, key: state.keys[stage.id] ?? "", seconds: seconds,
                                        batchSize: stages.count, measured: measured, hit: false,
                                        discarded: state.discarded[stage.id]))
                }
                return
            } catch let error as BatchFailure {
                failure = error.underlying
            }
            let suspects = suspects(of: stages, error: failure, state: state)
            let fresh = suspects.filter { !state.computed.contains($0.stage) }
            guard !fresh.isEmpty else {
                let note = suspects.map {
                    "its input '\($0.stage)' (cache entry \($0.folder.path)) was computed in this render and is not "
                        + "computed again"
                }
                throw Failure(stage: ids.joined(separator: ", "), underlying: failure,
                              note: note.isEmpty ? nil : note.joined(separator: "; "))
            }
            for suspect in fresh {
                try recompute(suspect, keeping: step.modelKey, state: &state)
            }
        }
    }

    /// An input whose cache entry a failed batch could not use.
    private struct Suspect {
        var stage: String
        var folder: URL
        var reason: String
    }

    /// The inputs of `stages` whose cache entries look responsible for the runner's `error`: an entry whose folder
    /// is gone or whose files no longer match its manifest, or one whose folder the error names (runners name the
    /// file they could not read: `FloatArrayFile.Failure`, `RunnerError.invalidInput`, KinoraMedia's read errors).
    private func suspects(of stages: [Stage], error: any Error, state: RenderState) -> [Suspect] {
        let message = String(describing: error)
        var seen: Set<String> = []
        var found: [Suspect] = []
        for input in stages.flatMap(\.inputs) where seen.insert(input).inserted {
            guard let key = state.keys[input], let folder = state.results[input] else { continue }
            if let damage = state.store.damage(key) {
                found.append(Suspect(stage: input, folder: folder, reason: damage))
            } else if message.contains(folder.path + "/") {
                found.append(Suspect(stage: input, folder: folder, reason: "a stage that reads it failed: \(message)"))
            }
        }
        return found
    }

    /// Discards the suspect's entry and computes its stage again, with its model the only one on the device (as
    /// when the plan ran it); that model is evicted after unless it is `keeping`, the model of the batch that
    /// failed, which the retry loads again if needed.
    private func recompute(_ suspect: Suspect, keeping: String?, state: inout RenderState) throws {
        guard let stage = graph.stage(suspect.stage),
              let step = plan.steps.first(where: { $0.action == .run && $0.stages.contains(suspect.stage) }),
              let key = state.keys[suspect.stage] else {
            throw Failure(stage: suspect.stage, underlying: PlanFault.unplannedStage(suspect.stage))
        }
        do {
            try state.store.remove(key)
        } catch {
            throw Failure(stage: suspect.stage, underlying: error,
                          note: "its cache entry cannot be used (\(suspect.reason)); remove it with "
                            + "rm -r '\(suspect.folder.path)', or render with --no-cache")
        }
        state.results[suspect.stage] = nil
        state.discarded[suspect.stage] = suspect.reason
        emit(.cacheDiscarded(stage: suspect.stage, reason: suspect.reason))
        if let model = step.modelKey {
            for other in state.loaded.keys.sorted() where other != model {
                try evict(other, blaming: suspect.stage, state: &state)
            }
        }
        try execute([stage], step: step, state: &state)
        if let model = step.modelKey, model != keeping {
            try evict(model, blaming: suspect.stage, state: &state)
        }
    }

    /// Loads the model with `key` unless it is loaded (nil: a host stage, nothing to load).
    private func load(_ key: String?, blaming stage: String, state: inout RenderState) throws {
        guard let key, state.loaded[key] == nil, let model = graph.models[key] else { return }
        let streamed = state.streamed[key] ?? false
        do {
            try runner.load(model, streamed: streamed)
        } catch {
            throw Failure(stage: stage, underlying: error)
        }
        let bytes = streamed ? (model.streamedWeightBytes ?? 0) : model.weightBytes
        state.loaded[key] = bytes
        emit(.modelLoaded(model: model.identity.name, bytes: bytes, streamed: streamed))
        emit(.memory(usedBytes: state.loaded.values.reduce(0, +), budgetBytes: plan.device.budgetBytes))
    }

    /// Evicts the model with `key` if it is loaded.
    private func evict(_ key: String, blaming stage: String?, state: inout RenderState) throws {
        guard let bytes = state.loaded.removeValue(forKey: key), let model = graph.models[key] else { return }
        do {
            try runner.evict(model)
        } catch {
            throw Failure(stage: stage ?? model.identity.name, underlying: error)
        }
        emit(.modelEvicted(model: model.identity.name, bytes: bytes))
    }

    /// Runs one batch into a work folder, then moves each stage's result into the cache under its key. Throws
    /// `BatchFailure` when the runner fails, `Failure` otherwise.
    private func runBatch(_ stages: [Stage], model: (any StageModel)?, step: PlanStep,
                          state: inout RenderState) throws -> (Double, UInt64?) {
        let work = state.store.makeWorkFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        var outputs: [String: URL] = [:]
        var inputs: [String: URL] = [:]
        for stage in stages {
            let folder = work.appendingPathComponent(String(outputs.count))
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw Failure(stage: stage.id, underlying: error)
            }
            outputs[stage.id] = folder
            for input in stage.inputs {
                guard let url = state.results[input] else {
                    throw Failure(stage: stage.id, underlying: PlanFault.missingInput(stage: stage.id, input: input))
                }
                inputs[input] = url
            }
            emit(.stageStarted(stage: stage.id, kind: stage.kind, steps: stage.steps, unit: stage.unit))
        }
        let start = clock()
        let measured: UInt64?
        do {
            measured = try runner.run(stages, model: model, tactic: step.tactic, inputs: inputs, outputs: outputs) {
                [weak self] id, done in
                guard let self else { return }
                let stage = graph.stage(id)
                let steps = stage?.steps ?? 1
                let rate = StepRate(unit: stage?.unit ?? .step, done: done, total: steps, seconds: clock() - start)
                emit(.stageStep(stage: id, step: done, steps: steps, rate: rate))
            }
        } catch {
            throw BatchFailure(underlying: error)
        }
        let seconds = clock() - start
        for stage in stages {
            guard let key = state.keys[stage.id], let produced = outputs[stage.id] else { continue }
            do {
                let entry = try state.store.store(key) { destination in
                    for item in try FileManager.default.contentsOfDirectory(atPath: produced.path) {
                        try FileManager.default.moveItem(at: produced.appendingPathComponent(item),
                                                         to: destination.appendingPathComponent(item))
                    }
                }
                state.results[stage.id] = entry.folder
            } catch {
                throw Failure(stage: stage.id, underlying: error)
            }
            emit(.stageFinished(stage: stage.id, seconds: seconds, measuredPeakBytes: measured))
            if let folder = state.results[stage.id] { try handOver(stage, folder) }
        }
        return (seconds, measured)
    }

    private func handOver(_ stage: Stage, _ folder: URL) throws {
        do {
            try deliver(stage, folder)
        } catch {
            throw Failure(stage: stage.id, underlying: error)
        }
    }

    private func record(_ stage: Stage, step: PlanStep, key: String, seconds: Double, batchSize: Int,
                        measured: UInt64?, hit: Bool, discarded: String?) -> RenderReport.StageRecord {
        RenderReport.StageRecord(stage: stage.id, kind: stage.kind, model: step.model, tactic: step.tactic,
                                 seconds: seconds, batchSize: batchSize, predictedPeakBytes: step.peakBytes,
                                 measuredPeakBytes: measured, seed: stage.seed, cacheHit: hit, key: key,
                                 cacheDiscarded: discarded, frames: stage.unit == .frame ? stage.steps : nil)
    }
}
