import Foundation
import XCTest

@testable import KinoraPipeline

final class ProgressEventTests: XCTestCase {
    func testEventsEncodeAsFlatObjectsNamedBySnakeCase() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let step = String(decoding: try encoder.encode(ProgressEvent.stageStep(stage: "a/denoise", step: 3, steps: 25)),
                          as: UTF8.self)
        XCTAssertEqual(step, #"{"event":"stage_step","stage":"a\/denoise","step":3,"steps":25}"#)
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
