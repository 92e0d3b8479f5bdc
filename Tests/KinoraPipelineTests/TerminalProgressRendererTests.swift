import XCTest

@testable import KinoraPipeline

final class TerminalProgressRendererTests: XCTestCase {
    func testBarsShowRateETAAndMemory() {
        var now = 100.0
        var output = ""
        let renderer = TerminalProgressRenderer(write: { output += $0 }, clock: { now }, barWidth: 10)
        renderer.receive(.renderStarted(stages: 2, totalSteps: 20, estimatedSeconds: 40, budgetBytes: 8 << 30))
        renderer.receive(.memory(usedBytes: 3 << 30, budgetBytes: 8 << 30))
        renderer.receive(.stageStarted(stage: "a/denoise", kind: .denoise, steps: 10))
        now = 104
        renderer.receive(.stageStep(stage: "a/denoise", step: 5, steps: 10))
        XCTAssertEqual(renderer.lines(), [
            "overall  [##--------]  25%  0/2 stages  ETA 12 s  mem 3.00 GiB / 8.00 GiB",
            "a/denoise  [#####-----]  50%  5/10  1.25 it/s  ETA 4.0 s",
        ])
        XCTAssertTrue(output.contains("\u{1B}[2F"), "redraws over its two lines")
        renderer.receive(.stageFinished(stage: "a/denoise", seconds: 8, measuredPeakBytes: nil))
        XCTAssertEqual(renderer.lines().count, 1)
        XCTAssertTrue(renderer.lines()[0].contains("1/2 stages"))
    }

    func testWithoutATerminalPrintsOneLinePerStage() {
        var output = ""
        let renderer = TerminalProgressRenderer(write: { output += $0 }, clock: { 0 }, interactive: false)
        renderer.receive(.renderStarted(stages: 2, totalSteps: 2, estimatedSeconds: 1, budgetBytes: 1))
        renderer.receive(.cacheHit(stage: "a", key: "k", steps: 1))
        renderer.receive(.stageStarted(stage: "b", kind: .mix, steps: 1))
        renderer.receive(.stageFinished(stage: "b", seconds: 0.25, measuredPeakBytes: nil))
        renderer.receive(.renderFinished(seconds: 0.3))
        XCTAssertEqual(output, "cached  a\ndone  b  0.2 s\nrendered in 0.3 s\n")
    }

    func testOverallStepsCountEachStageOfABatchAndCacheHitsInFull() {
        let renderer = TerminalProgressRenderer(write: { _ in }, clock: { 0 }, barWidth: 10)
        renderer.receive(.renderStarted(stages: 3, totalSteps: 20, estimatedSeconds: 10, budgetBytes: 0))
        renderer.receive(.cacheHit(stage: "c", key: "k", steps: 6))
        XCTAssertTrue(renderer.lines()[0].hasPrefix("overall  [###-------]  30%  1/3 stages"), renderer.lines()[0])
        // A batch starts both its stages before either finishes.
        renderer.receive(.stageStarted(stage: "a", kind: .denoise, steps: 10))
        renderer.receive(.stageStarted(stage: "b", kind: .denoise, steps: 4))
        renderer.receive(.stageStep(stage: "a", step: 5, steps: 10))
        XCTAssertEqual(renderer.lines(), ["overall  [#####-----]  55%  1/3 stages  ETA 0.0 s",
                                          "a  [#####-----]  50%  5/10"])
        renderer.receive(.stageStep(stage: "a", step: 10, steps: 10))
        renderer.receive(.stageFinished(stage: "a", seconds: 1, measuredPeakBytes: nil))
        XCTAssertEqual(renderer.lines(), ["overall  [########--]  80%  2/3 stages  ETA 0.0 s",
                                          "b  [----------]   0%  0/4"])
        renderer.receive(.stageStep(stage: "b", step: 4, steps: 4))
        renderer.receive(.stageFinished(stage: "b", seconds: 1, measuredPeakBytes: nil))
        XCTAssertEqual(renderer.lines(), ["overall  [##########] 100%  3/3 stages  ETA 0.0 s"])
    }
}
