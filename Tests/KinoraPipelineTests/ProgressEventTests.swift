import Foundation
import XCTest

@testable import KinoraPipeline

final class ProgressEventTests: XCTestCase {
    func testEventsEncodeAsFlatObjectsNamedBySnakeCase() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let step = String(decoding: try encoder.encode(
            ProgressEvent.stageStep(stage: "a/denoise", step: 0, steps: 25, rate: nil)), as: UTF8.self)
        XCTAssertEqual(step, #"{"event":"stage_step","stage":"a\/denoise","step":0,"steps":25}"#)
        // A stage that makes frames: 30 of 81 in 2.4 s are 12.5 frames a second, 51 left take 4.08 s.
        let rate = StepRate(unit: .frame, done: 30, total: 81, seconds: 2.4)
        let frames = String(decoding: try encoder.encode(
            ProgressEvent.stageStep(stage: "a/decode", step: 30, steps: 81, rate: rate)), as: UTF8.self)
        XCTAssertEqual(frames, #"{"eta_seconds":4.08,"event":"stage_step","per_second":12.5,"stage":"a\/decode","#
                       + #""step":30,"steps":81,"unit":"frame"}"#)
        XCTAssertNil(StepRate(unit: .frame, done: 0, total: 81, seconds: 2.4), "no rate before the first frame")
        let started = String(decoding: try encoder.encode(
            ProgressEvent.stageStarted(stage: "a/decode", kind: .decode, steps: 81, unit: .frame)), as: UTF8.self)
        XCTAssertEqual(started, #"{"event":"stage_started","kind":"decode","stage":"a\/decode","steps":81,"#
                       + #""unit":"frame"}"#)
        let finished = String(decoding: try encoder.encode(
            ProgressEvent.stageFinished(stage: "s", seconds: 1.5, measuredPeakBytes: nil)), as: UTF8.self)
        XCTAssertEqual(finished, #"{"event":"stage_finished","seconds":1.5,"stage":"s"}"#)
    }

    func testADiscardedCacheEntryEncodesItsStageAndReason() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let event = ProgressEvent.cacheDiscarded(stage: "a/denoise", reason: "result.kf32 is missing")
        XCTAssertEqual(event.name, "cache_discarded")
        XCTAssertEqual(String(decoding: try encoder.encode(event), as: UTF8.self),
                       #"{"event":"cache_discarded","reason":"result.kf32 is missing","stage":"a/denoise"}"#)
    }
}
