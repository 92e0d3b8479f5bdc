import Foundation
import XCTest

@testable import KinoraPipeline

final class RenderExecutorTests: XCTestCase {
    private func setUp(_ text: String? = nil) throws -> (StageGraph, Plan) {
        let workflow = try text.map { try Workflow.parse($0, file: "demo.yaml") } ?? TestSupport.stillsWorkflow()
        let graph = try TestSupport.builder().build(workflow, mode: .final)
        return (graph, try Planner(device: DeviceProfile(budgetBytes: 1 << 30)).plan(graph))
    }

    private func render(_ graph: StageGraph, _ plan: Plan, runner: any StageRunner, cache: StageCache,
                        useCache: Bool = true, log: EventLog = EventLog()) throws -> RenderReport {
        try RenderExecutor(graph: graph, plan: plan, runner: runner, cache: cache, useCache: useCache,
                           progress: [log]).run()
    }

    func testFirstRenderRunsThePlanInOrderAndSecondComesFromCache() throws {
        let (graph, plan) = try setUp()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        let runner = RecordingRunner()
        runner.measuredPeak = 1234
        let report = try render(graph, plan, runner: runner, cache: cache)
        XCTAssertEqual(runner.ranStages, plan.steps.filter { $0.action == .run }.flatMap(\.stages))
        XCTAssertEqual(Array(runner.calls.prefix(4)), [
            .run(["welcome/phonemize"]), .run(["closing/phonemize"]), .run(["pad/load"]),
            .load("hero/text_encoder", streamed: false),
        ], "host stages run as soon as they can, then the first model")
        XCTAssertEqual(report.cacheHits, 0)
        XCTAssertEqual(report.stages.count, graph.stages.count)
        XCTAssertEqual(report.stages.first { $0.stage == "harbour/denoise" }?.seed, 1234)
        XCTAssertEqual(report.measuredPeakBytes, 1234)

        let again = RecordingRunner()
        let cached = try render(graph, plan, runner: again, cache: cache)
        XCTAssertEqual(again.calls, [], "nothing runs and no model is loaded")
        XCTAssertEqual(cached.cacheHits, graph.stages.count)
    }

    func testEditingOneShotRerunsOnlyItsStages() throws {
        let (graph, plan) = try setUp()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        _ = try render(graph, plan, runner: RecordingRunner(), cache: cache)

        let text = try String(contentsOf: TestSupport.stills, encoding: .utf8)
            .replacingOccurrences(of: "a lighthouse on a cliff", with: "a lighthouse on a rock")
        let (edited, editedPlan) = try setUp(text)
        let runner = RecordingRunner()
        let report = try render(edited, editedPlan, runner: runner, cache: cache)
        XCTAssertEqual(runner.ranStages, ["lighthouse/encode-text", "lighthouse/denoise", "lighthouse/decode",
                                          "lighthouse/animate", "video/encode", "output/mux"])
        XCTAssertEqual(report.cacheHits, graph.stages.count - 6)
        let loads = runner.calls.filter { if case .load = $0 { return true } else { return false } }
        XCTAssertEqual(loads.count, 3, "the voice model is never loaded: its stages are cached")
    }

    func testKilledRenderResumesFromCompletedStages() throws {
        let (graph, plan) = try setUp()
        let root = try TestSupport.temporaryFolder(self)
        let killed = RecordingRunner()
        killed.failAt = "market/decode"
        let batch = try XCTUnwrap(plan.steps.first { $0.action == .run && $0.stages.contains("market/decode") })
        XCTAssertThrowsError(try render(graph, plan, runner: killed, cache: try StageCache(root: root))) { error in
            // The stages of the batch ran together, so none of them was stored.
            XCTAssertEqual("\(error)", "stage '\(batch.stages.joined(separator: ", "))' failed: Killed()")
        }
        let completed = killed.ranStages
        XCTAssertFalse(completed.contains("market/decode"))

        let resumed = RecordingRunner()
        let report = try render(graph, plan, runner: resumed, cache: try StageCache(root: root))
        XCTAssertTrue(resumed.ranStages.contains("market/decode"), "the partial result is not reused")
        XCTAssertEqual(Set(resumed.ranStages).intersection(completed), [])
        XCTAssertEqual(Set(resumed.ranStages).union(completed), Set(graph.stages.map(\.id)))
        XCTAssertEqual(report.cacheHits, completed.count)
    }

    func testNoCacheRunsEverythingAndLeavesTheCacheUntouched() throws {
        let (graph, plan) = try setUp()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        _ = try render(graph, plan, runner: RecordingRunner(), cache: cache)
        let before = cache.entries().map(\.key)
        let runner = RecordingRunner()
        let report = try render(graph, plan, runner: runner, cache: cache, useCache: false)
        XCTAssertEqual(runner.ranStages.count, graph.stages.count)
        XCTAssertEqual(report.cacheHits, 0)
        XCTAssertEqual(Set(cache.entries().map(\.key)), Set(before))
    }

    func testProgressEventsFollowTheRender() throws {
        let (graph, plan) = try setUp()
        let log = EventLog()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        _ = try render(graph, plan, runner: RecordingRunner(), cache: cache, log: log)
        guard case .renderStarted(let stages, let steps, _, _) = log.events.first else {
            return XCTFail("first event: \(String(describing: log.events.first))")
        }
        XCTAssertEqual(stages, graph.stages.count)
        XCTAssertEqual(steps, graph.stages.reduce(0) { $0 + $1.steps })
        let denoiseSteps = log.events.filter {
            if case .stageStep(stage: "harbour/denoise", _, _, _) = $0 { return true } else { return false }
        }
        XCTAssertEqual(denoiseSteps.count, 4)
        // Stages that make frames say so, so progress shows them in frames a second.
        let units = log.events.reduce(into: [String: StepUnit]()) {
            if case .stageStarted(let stage, _, _, let unit) = $1 { $0[stage] = unit }
        }
        XCTAssertEqual(units["harbour/denoise"], .step)
        XCTAssertEqual(units["harbour/animate"], .frame)
        XCTAssertEqual(units["video/encode"], .frame)
        XCTAssertEqual(log.events.filter { $0.name == "stage_finished" }.count, graph.stages.count)
        XCTAssertEqual(log.events.last?.name, "render_finished")
    }

    func testACacheLimitNeverEvictsAResultALaterStageReads() throws {
        let (graph, plan) = try setUp()
        // Smaller than any one result: every store would evict everything else.
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self), sizeLimit: 1)
        let runner = InputCheckingRunner()
        let report = try render(graph, plan, runner: runner, cache: cache)
        XCTAssertEqual(runner.missing, [], "every input folder was there when its stage ran")
        XCTAssertEqual(report.stages.count, graph.stages.count)
        XCTAssertLessThanOrEqual(cache.totalBytes, 1, "trimmed to the limit when the render ended")
    }

    /// The cache folder of `stage`'s entry after a render of `graph`.
    private func entry(_ stage: String, _ graph: StageGraph, _ cache: StageCache) throws -> URL {
        try XCTUnwrap(cache.entries().first { $0.key == StageKeys.compute(graph)[stage] }?.folder, stage)
    }

    private func discards(_ log: EventLog) -> [String: String] {
        var found: [String: String] = [:]
        for case .cacheDiscarded(let stage, let reason) in log.events { found[stage] = reason }
        return found
    }

    func testAnEntryDamagedOnDiskIsDiscardedAndOnlyItsStageRunsAgain() throws {
        let (graph, plan) = try setUp()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        _ = try render(graph, plan, runner: RecordingRunner(), cache: cache)
        let denoise = try entry("harbour/denoise", graph, cache)
        try Data("cut".utf8).write(to: denoise.appendingPathComponent("result.txt"))
        try FileManager.default.removeItem(at: try entry("closing/speak", graph, cache)
            .appendingPathComponent(StageCache.manifestName))

        let log = EventLog(), runner = RecordingRunner()
        let report = try render(graph, plan, runner: runner, cache: cache, log: log)
        XCTAssertEqual(runner.ranStages, ["harbour/denoise", "closing/speak"])
        XCTAssertEqual(discards(log), [
            "harbour/denoise": "result.txt holds 3 bytes, its manifest.json says 25",
            "closing/speak": "its manifest.json is missing",
        ])
        XCTAssertEqual(report.cacheDiscards, 2)
        XCTAssertEqual(report.cacheHits, graph.stages.count - 2)
        XCTAssertEqual(report.stages.first { $0.stage == "closing/speak" }?.cacheDiscarded,
                       "its manifest.json is missing")

        let again = RecordingRunner(), quiet = EventLog()
        XCTAssertEqual(try render(graph, plan, runner: again, cache: cache, log: quiet).cacheHits, graph.stages.count)
        XCTAssertEqual(again.calls, [], "healed: the next render takes everything from the cache")
        XCTAssertEqual(discards(quiet), [:])
    }

    func testAnInputALaterStageCannotReadIsComputedAgainWithItsModelAlone() throws {
        let (graph, plan) = try setUp()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        _ = try render(graph, plan, runner: ReadingRunner(), cache: cache)
        // Same size, so the manifest cannot tell: only the stage that reads it can.
        let latents = try entry("harbour/denoise", graph, cache).appendingPathComponent("result.txt")
        try Data(repeating: 0x2A, count: try Data(contentsOf: latents).count).write(to: latents)
        try cache.remove(try XCTUnwrap(StageKeys.compute(graph)["harbour/decode"]))

        let log = EventLog(), runner = ReadingRunner()
        let report = try render(graph, plan, runner: runner, cache: cache, log: log)
        XCTAssertEqual(runner.calls, [
            .load("hero/decoder", streamed: false),
            .evict("hero/decoder"), .load("hero/denoiser", streamed: false), .run(["harbour/denoise"]),
            .evict("hero/denoiser"), .load("hero/decoder", streamed: false), .run(["harbour/decode"]),
            .evict("hero/decoder"),
        ], "the decoder is evicted while the denoiser runs again, as the plan never holds both")
        XCTAssertEqual(runner.failures, 1)
        let reason = try XCTUnwrap(discards(log)["harbour/denoise"])
        XCTAssertTrue(reason.hasPrefix("a stage that reads it failed: cannot read "), reason)
        XCTAssertEqual(report.stages.map(\.stage).sorted(), graph.stages.map(\.id).sorted(), "one record per stage")
        let record = try XCTUnwrap(report.stages.first { $0.stage == "harbour/denoise" })
        XCTAssertFalse(record.cacheHit)
        XCTAssertEqual(record.cacheDiscarded, reason)
        XCTAssertEqual(try String(contentsOf: latents, encoding: .utf8), "result of harbour/denoise")
    }

    func testAnInputStillUnreadableAfterOneRecomputeStopsTheRenderNamingItsEntry() throws {
        let (graph, plan) = try setUp()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        _ = try render(graph, plan, runner: RecordingRunner(), cache: cache)
        try cache.remove(try XCTUnwrap(StageKeys.compute(graph)["harbour/decode"]))

        let runner = ReadingRunner()
        runner.unreadable = "harbour/denoise"
        XCTAssertThrowsError(try render(graph, plan, runner: runner, cache: cache)) { error in
            let folder = (try? entry("harbour/denoise", graph, cache).path) ?? "?"
            XCTAssertEqual("\(error)", "stage 'harbour/decode' failed: cannot read \(folder)/result.txt; its input "
                           + "'harbour/denoise' (cache entry \(folder)) was computed in this render and is not "
                           + "computed again")
        }
        XCTAssertEqual(runner.ranStages, ["harbour/denoise"], "computed again once, never in a loop")
        XCTAssertEqual(runner.failures, 2)
    }

    func testAnInputComputedInThisRenderIsNeverComputedAgain() throws {
        let (graph, plan) = try setUp()
        let runner = ReadingRunner()
        runner.unreadable = "harbour/denoise"
        XCTAssertThrowsError(try render(graph, plan, runner: runner,
                                        cache: try StageCache(root: try TestSupport.temporaryFolder(self))))
        XCTAssertEqual(runner.ranStages.filter { $0 == "harbour/denoise" }.count, 1)
        XCTAssertEqual(runner.failures, 1)
    }
}

/// Runs every stage like `RecordingRunner`, after checking that each input's result is still on disk.
private final class InputCheckingRunner: StageRunner {
    private let inner = RecordingRunner()
    var missing: [String] = []

    func load(_ model: any StageModel, streamed: Bool) throws { try inner.load(model, streamed: streamed) }

    func evict(_ model: any StageModel) throws { try inner.evict(model) }

    func run(_ stages: [Stage], model: (any StageModel)?, tactic: Tactic?, inputs: [String: URL],
             outputs: [String: URL], step: (String, Int) -> Void) throws -> UInt64? {
        for (id, folder) in inputs.sorted(by: { $0.key < $1.key })
        where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("result.txt").path) {
            missing.append(id)
        }
        return try inner.run(stages, model: model, tactic: tactic, inputs: inputs, outputs: outputs, step: step)
    }
}

/// Runs every stage like `RecordingRunner` after reading each input's `result.txt`, as a real runner reads its
/// inputs: an input that is not what its stage wrote (or is `unreadable`) fails the batch with an error naming the
/// file. Records each successful batch in `calls` and counts failures.
private final class ReadingRunner: StageRunner {
    struct Unreadable: Error, CustomStringConvertible {
        var path: String
        var description: String { "cannot read \(path)" }
    }

    private let inner = RecordingRunner()
    var unreadable: String?
    var failures = 0
    var calls: [RecordingRunner.Call] { inner.calls }
    var ranStages: [String] { inner.ranStages }

    func load(_ model: any StageModel, streamed: Bool) throws { try inner.load(model, streamed: streamed) }

    func evict(_ model: any StageModel) throws { try inner.evict(model) }

    func run(_ stages: [Stage], model: (any StageModel)?, tactic: Tactic?, inputs: [String: URL],
             outputs: [String: URL], step: (String, Int) -> Void) throws -> UInt64? {
        for (id, folder) in inputs.sorted(by: { $0.key < $1.key }) {
            let file = folder.appendingPathComponent("result.txt")
            guard id != unreadable, (try? String(contentsOf: file, encoding: .utf8)) == "result of \(id)" else {
                failures += 1
                throw Unreadable(path: file.path)
            }
        }
        return try inner.run(stages, model: model, tactic: tactic, inputs: inputs, outputs: outputs, step: step)
    }
}
