import Foundation

/// Follows a plan: takes each stage's result from the cache when it is there, otherwise loads the model (only when
/// some stage actually needs it), runs the batch through the `StageRunner` and stores each result under its key.
/// A render that was killed therefore resumes from the stages it had finished.
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
        public var description: String { "stage '\(stage)' failed: \(underlying)" }
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
        var results: [String: URL] = [:]
        var records: [RenderReport.StageRecord] = []
        var loaded: [String: UInt64] = [:]
        var pendingStreamed: [String: Bool] = [:]

        for step in plan.steps {
            switch step.action {
            case .load:
                if let key = step.modelKey { pendingStreamed[key] = step.tactic?.streamedWeights ?? false }
            case .evict:
                guard let key = step.modelKey, let bytes = loaded.removeValue(forKey: key),
                      let model = graph.models[key] else { continue }
                do {
                    try runner.evict(model)
                } catch {
                    throw Failure(stage: step.stages.first ?? model.identity.name, underlying: error)
                }
                emit(.modelEvicted(model: model.identity.name, bytes: bytes))
            case .run:
                var toRun: [Stage] = []
                for id in step.stages {
                    guard let stage = graph.stage(id), let key = keys[id] else { continue }
                    if useCache, let entry = store.lookup(key) {
                        results[id] = entry.folder
                        records.append(record(stage, step: step, key: key, seconds: 0, batchSize: 1, measured: nil,
                                              hit: true))
                        emit(.cacheHit(stage: id, key: key, steps: stage.steps))
                        try handOver(stage, entry.folder)
                    } else {
                        toRun.append(stage)
                    }
                }
                guard !toRun.isEmpty else { continue }
                let model = step.modelKey.flatMap { graph.models[$0] }
                if let model, let key = step.modelKey, loaded[key] == nil {
                    do {
                        try runner.load(model, streamed: pendingStreamed[key] ?? false)
                    } catch {
                        throw Failure(stage: toRun[0].id, underlying: error)
                    }
                    let bytes = pendingStreamed[key] == true ? (model.streamedWeightBytes ?? 0) : model.weightBytes
                    loaded[key] = bytes
                    emit(.modelLoaded(model: model.identity.name, bytes: bytes,
                                      streamed: pendingStreamed[key] ?? false))
                    emit(.memory(usedBytes: loaded.values.reduce(0, +), budgetBytes: plan.device.budgetBytes))
                }
                let (seconds, measured) = try runBatch(toRun, model: model, step: step, keys: keys, store: store,
                                                       results: &results)
                for stage in toRun {
                    records.append(record(stage, step: step, key: keys[stage.id] ?? "", seconds: seconds,
                                          batchSize: toRun.count, measured: measured, hit: false))
                }
            }
        }
        let seconds = clock() - start
        emit(.renderFinished(seconds: seconds))
        return RenderReport(file: plan.file, mode: plan.mode, budgetBytes: plan.device.budgetBytes, seconds: seconds,
                            estimatedSeconds: plan.estimatedSeconds, stages: records)
    }

    /// Runs one batch into a work folder, then moves each stage's result into the cache under its key.
    private func runBatch(_ stages: [Stage], model: (any StageModel)?, step: PlanStep, keys: [String: String],
                          store: StageCache, results: inout [String: URL]) throws -> (Double, UInt64?) {
        let work = store.makeWorkFolder()
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
                guard let url = results[input] else {
                    throw Failure(stage: stage.id, underlying: CocoaError(.fileNoSuchFile, userInfo: [
                        NSLocalizedDescriptionKey: "the result of input stage '\(input)' is missing",
                    ]))
                }
                inputs[input] = url
            }
            emit(.stageStarted(stage: stage.id, kind: stage.kind, steps: stage.steps))
        }
        let start = clock()
        let measured: UInt64?
        do {
            measured = try runner.run(stages, model: model, tactic: step.tactic, inputs: inputs, outputs: outputs) {
                [weak self] id, done in
                let steps = self?.graph.stage(id)?.steps ?? 1
                self?.emit(.stageStep(stage: id, step: done, steps: steps))
            }
        } catch {
            throw Failure(stage: stages.map(\.id).joined(separator: ", "), underlying: error)
        }
        let seconds = clock() - start
        for stage in stages {
            guard let key = keys[stage.id], let produced = outputs[stage.id] else { continue }
            do {
                let entry = try store.store(key) { destination in
                    for item in try FileManager.default.contentsOfDirectory(atPath: produced.path) {
                        try FileManager.default.moveItem(at: produced.appendingPathComponent(item),
                                                         to: destination.appendingPathComponent(item))
                    }
                }
                results[stage.id] = entry.folder
            } catch {
                throw Failure(stage: stage.id, underlying: error)
            }
            emit(.stageFinished(stage: stage.id, seconds: seconds, measuredPeakBytes: measured))
            if let folder = results[stage.id] { try handOver(stage, folder) }
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
                        measured: UInt64?, hit: Bool) -> RenderReport.StageRecord {
        RenderReport.StageRecord(stage: stage.id, kind: stage.kind, model: step.model, tactic: step.tactic,
                                 seconds: seconds, batchSize: batchSize, predictedPeakBytes: step.peakBytes,
                                 measuredPeakBytes: measured, seed: stage.seed, cacheHit: hit, key: key)
    }
}
