import Foundation
import XCTest

@testable import KinoraPipeline

/// Time estimates calibrated by earlier renders: measured over estimated seconds per device and `family/kind`,
/// applied by the planner, decayed so recent renders count most, and stored as JSON beside the cache.
final class TimeCalibrationTests: XCTestCase {
    private static let workflow = """
        output: {size: 512x512}
        models:
          hero: {catalog: sd15}
        shots:
          - {id: a, prompt: a harbour at dawn, duration: 2, final: {model: hero}}
          - {id: b, prompt: a fish market, duration: 2, final: {model: hero}}
        """

    private func graph() throws -> StageGraph {
        try TestSupport.builder().build(try Workflow.parse(Self.workflow, file: "w.yaml"), mode: .final)
    }

    private func plan(_ graph: StageGraph, factors: [String: Double] = [:]) throws -> Plan {
        var device = DeviceProfile(budgetBytes: 16 << 30)
        device.timeFactors = factors
        return try Planner(device: device).plan(graph)
    }

    /// A report in which every model stage of `plan` took `seconds(kind)` (the stages of a batch sharing them).
    private func report(_ plan: Plan, cacheHits: Set<String> = [], seconds: (StageKind) -> Double) -> RenderReport {
        var records: [RenderReport.StageRecord] = []
        for step in plan.steps where step.action == .run {
            for stage in step.stages {
                let hit = cacheHits.contains(stage)
                records.append(RenderReport.StageRecord(
                    stage: stage, kind: step.kind ?? .mux, model: step.model, tactic: step.tactic,
                    seconds: hit ? 0 : seconds(step.kind ?? .mux), batchSize: step.stages.count,
                    predictedPeakBytes: step.peakBytes, measuredPeakBytes: nil, seed: nil, cacheHit: hit, key: stage))
            }
        }
        return RenderReport(file: "w.yaml", mode: .final, budgetBytes: plan.device.budgetBytes, seconds: 0,
                            estimatedSeconds: plan.estimatedSeconds, stages: records)
    }

    private func estimate(_ plan: Plan, _ kind: StageKind) -> Double {
        plan.steps.filter { $0.action == .run && $0.kind == kind }.reduce(0) { $0 + $1.estimatedSeconds }
    }

    func testARenderSetsTheFactorsTheNextPlanUses() throws {
        let graph = try graph()
        let first = try plan(graph)
        let denoiseEstimate = estimate(first, .denoise)
        XCTAssertGreaterThan(denoiseEstimate, 0)
        var calibration = TimeCalibration()
        // The denoise batch took three times its estimate; each decode took 0.5 s.
        calibration.record(report(first) { $0 == .denoise ? 3 * denoiseEstimate : $0 == .decode ? 0.5 : 0 },
                           plan: first, graph: graph, device: "gpu")
        let factors = calibration.factors(device: "gpu")
        XCTAssertEqual(try XCTUnwrap(factors["sd15/denoise"]), 3, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(factors["sd15/decode"]), 1.0 / estimate(first, .decode), accuracy: 1e-9)
        XCTAssertNil(factors["sd15/encodeText"], "no measured seconds, no factor")
        XCTAssertEqual(calibration.factors(device: "another gpu"), [:])

        let second = try plan(graph, factors: factors)
        XCTAssertEqual(estimate(second, .denoise), 3 * denoiseEstimate, accuracy: 1e-6)
        XCTAssertEqual(estimate(second, .decode), 1.0, accuracy: 1e-6, "two decodes of 0.5 s")
        XCTAssertTrue(second.rendered().contains("(calibrated by earlier renders on this device)"))
        XCTAssertFalse(first.rendered().contains("calibrated"))

        // A render of the calibrated plan taking exactly its estimate keeps the factor (estimates are stored
        // uncalibrated), and a slower one moves it, the newer render counting double.
        calibration.record(report(second) { $0 == .denoise ? 3 * denoiseEstimate : 0 }, plan: second, graph: graph,
                           device: "gpu")
        XCTAssertEqual(try XCTUnwrap(calibration.factors(device: "gpu")["sd15/denoise"]), 3, accuracy: 1e-9)
        calibration.record(report(second) { $0 == .denoise ? 6 * denoiseEstimate : 0 }, plan: second, graph: graph,
                           device: "gpu")
        // The first render weighs 1/4, the second 1/2, the new one 1: (3/4 + 3/2 + 6) / (1/4 + 1/2 + 1).
        XCTAssertEqual(try XCTUnwrap(calibration.factors(device: "gpu")["sd15/denoise"]), 8.25 / 1.75, accuracy: 1e-9)
    }

    func testCacheHitsAndPartlyCachedBatchesTeachNothing() throws {
        let graph = try graph()
        let plan = try plan(graph)
        var calibration = TimeCalibration()
        calibration.record(report(plan, cacheHits: ["a/denoise"]) { _ in 5 }, plan: plan, graph: graph, device: "gpu")
        XCTAssertNil(calibration.factors(device: "gpu")["sd15/denoise"], "one of the batch came from the cache")
        XCTAssertNotNil(calibration.factors(device: "gpu")["sd15/decode"])
    }

    func testTimingsRoundTripAndAnUnreadableFileIsNoCalibration() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let url = folder.appendingPathComponent(TimeCalibration.fileName)
        XCTAssertEqual(TimeCalibration.load(from: url), TimeCalibration())
        let graph = try graph()
        let plan = try plan(graph)
        var calibration = TimeCalibration()
        calibration.record(report(plan) { _ in 2 }, plan: plan, graph: graph, device: "llvmpipe")
        try calibration.save(to: url)
        XCTAssertEqual(TimeCalibration.load(from: url), calibration)
        try Data("not json".utf8).write(to: url)
        XCTAssertEqual(TimeCalibration.load(from: url), TimeCalibration())
    }
}
