import XCTest

@testable import KinoraPipeline

final class TerminalProgressRendererTests: XCTestCase {
    func testBarsShowRateETAAndMemory() {
        var now = 100.0
        var output = ""
        let renderer = TerminalProgressRenderer(write: { output += $0 }, clock: { now }, barWidth: 10)
        renderer.receive(.renderStarted(stages: 2, totalSteps: 20, estimatedSeconds: 40, budgetBytes: 8 << 30))
        renderer.receive(.memory(usedBytes: 3 << 30, budgetBytes: 8 << 30))
        renderer.receive(.stageStarted(stage: "a/denoise", kind: .denoise, steps: 10, unit: .step))
        now = 104
        renderer.receive(.stageStep(stage: "a/denoise", step: 5, steps: 10, rate: nil))
        XCTAssertEqual(renderer.lines(), [
            "overall  [##--------]  25%  0/2 stages  ETA 12 s  mem 3.00 GiB / 8.00 GiB",
            "a/denoise  [#####-----]  50%  5/10  1.25 it/s  ETA 4.0 s",
        ])
        XCTAssertTrue(output.contains("\u{1B}[2F"), "redraws over its two lines")
        renderer.receive(.stageFinished(stage: "a/denoise", seconds: 8, measuredPeakBytes: nil))
        XCTAssertEqual(renderer.lines().count, 1)
        XCTAssertTrue(renderer.lines()[0].contains("1/2 stages"))
        // A stage that makes frames shows frames a second.
        renderer.receive(.stageStarted(stage: "a/decode", kind: .decode, steps: 10, unit: .frame))
        now = 106
        renderer.receive(.stageStep(stage: "a/decode", step: 4, steps: 10, rate: nil))
        XCTAssertEqual(renderer.lines().last, "a/decode  [####------]  40%  4/10  2.00 fps  ETA 3.0 s")
    }

    func testWithoutATerminalPrintsOneLinePerStage() {
        var output = ""
        let renderer = TerminalProgressRenderer(write: { output += $0 }, clock: { 0 }, interactive: false)
        renderer.receive(.renderStarted(stages: 2, totalSteps: 2, estimatedSeconds: 1, budgetBytes: 1))
        renderer.receive(.cacheHit(stage: "a", key: "k", steps: 1))
        renderer.receive(.stageStarted(stage: "b", kind: .mix, steps: 1, unit: .step))
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
        renderer.receive(.stageStarted(stage: "a", kind: .denoise, steps: 10, unit: .step))
        renderer.receive(.stageStarted(stage: "b", kind: .denoise, steps: 4, unit: .step))
        renderer.receive(.stageStep(stage: "a", step: 5, steps: 10, rate: nil))
        XCTAssertEqual(renderer.lines(), ["overall  [#####-----]  55%  1/3 stages  ETA 0.0 s",
                                          "a  [#####-----]  50%  5/10"])
        renderer.receive(.stageStep(stage: "a", step: 10, steps: 10, rate: nil))
        renderer.receive(.stageFinished(stage: "a", seconds: 1, measuredPeakBytes: nil))
        XCTAssertEqual(renderer.lines(), ["overall  [########--]  80%  2/3 stages  ETA 0.0 s",
                                          "b  [----------]   0%  0/4"])
        renderer.receive(.stageStep(stage: "b", step: 4, steps: 4, rate: nil))
        renderer.receive(.stageFinished(stage: "b", seconds: 1, measuredPeakBytes: nil))
        XCTAssertEqual(renderer.lines(), ["overall  [##########] 100%  3/3 stages  ETA 0.0 s"])
    }

    func testADiscardedEntryIsOneLineAndNoLongerCountsAsDone() {
        var output = ""
        let plain = TerminalProgressRenderer(write: { output += $0 }, clock: { 0 }, interactive: false)
        plain.receive(.renderStarted(stages: 2, totalSteps: 4, estimatedSeconds: 1, budgetBytes: 0))
        plain.receive(.cacheHit(stage: "a", key: "k", steps: 3))
        plain.receive(.cacheDiscarded(stage: "a", reason: "x.kf32: too short\nfor its shape"))
        XCTAssertEqual(output, "cached  a\ndiscarded the damaged cache entry of a (x.kf32: too short for its shape); "
                       + "computing it again\n")
        XCTAssertTrue(plain.lines()[0].contains("0/2 stages"), plain.lines()[0])

        output = ""
        let bars = TerminalProgressRenderer(write: { output += $0 }, clock: { 0 }, barWidth: 4)
        bars.receive(.renderStarted(stages: 2, totalSteps: 4, estimatedSeconds: 1, budgetBytes: 0))
        bars.receive(.cacheHit(stage: "a", key: "k", steps: 3))
        output = ""
        bars.receive(.cacheDiscarded(stage: "a", reason: "gone"))
        XCTAssertEqual(output, "\u{1B}[1F\u{1B}[J"
                       + "discarded the damaged cache entry of a (gone); computing it again\n"
                       + "\u{1B}[2Koverall  [----]   0%  0/2 stages  ETA 1.0 s\n",
                       "the bar is cleared, the line written and the bar drawn again below it")
        bars.receive(.stageStarted(stage: "a", kind: .denoise, steps: 3, unit: .step))
        bars.receive(.stageFinished(stage: "a", seconds: 1, measuredPeakBytes: nil))
        XCTAssertTrue(bars.lines()[0].contains("1/2 stages"), bars.lines()[0])
    }
}
