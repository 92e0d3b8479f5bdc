import Foundation
import XCTest

@testable import KinoraPipeline

final class FarmProgressRecorderTests: XCTestCase {
    func testTheRecorderCountsFinishedAndCachedStagesAsTheyCome() throws {
        let (folder, _, version) = try preparedFarm()
        let shard = try ShardIndex(index: 2, count: 2)
        let recorder = try FarmProgressRecorder(record: farmRecord(shard, version, state: .running), folder: folder)
        XCTAssertEqual(try folder.record(for: shard)?.state, .running, "written as it starts")
        recorder.receive(.cacheHit(stage: "a/encode-text", key: "k1", steps: 1))
        recorder.receive(.stageStarted(stage: "a/denoise", kind: .denoise, steps: 2, unit: .step))
        recorder.receive(.stageFinished(stage: "a/denoise", seconds: 1, measuredPeakBytes: nil))
        var stored = try XCTUnwrap(try folder.record(for: shard))
        XCTAssertEqual([stored.stagesDone, stored.stagesComputed], [2, 1])
        recorder.receive(.cacheDiscarded(stage: "a/encode-text", reason: "damaged"))
        stored = try XCTUnwrap(try folder.record(for: shard))
        XCTAssertEqual([stored.stagesDone, stored.stagesComputed], [1, 1])
        try recorder.fail(RenderExecutor.PlanFault.unplannedStage("a/decode"))
        stored = try XCTUnwrap(try folder.record(for: shard))
        XCTAssertEqual(stored.state, .failed)
        XCTAssertEqual(stored.error, "stage 'a/decode' is in no step of the plan")
        try recorder.finish()
        XCTAssertEqual(try folder.record(for: shard)?.state, .done)
        XCTAssertEqual(try folder.record(for: shard)?.host, FarmRecord.currentHost)
        XCTAssertEqual(try folder.record(for: shard)?.processRuns, true, "this process")
    }
}
