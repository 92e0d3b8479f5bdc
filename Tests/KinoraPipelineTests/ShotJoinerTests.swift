import KinoraMedia
import XCTest

@testable import KinoraPipeline

final class ShotJoinerTests: XCTestCase {
    /// The cut of shots of flat grey frames (`levels` per shot, one frame each) with `transitions`, as each frame's
    /// level, and the most frames the joiner held at once.
    private func join(_ shots: [[UInt8]], _ transitions: [ShotJoiner.Transition]) throws -> [UInt8] {
        var cut: [UInt8] = []
        var joiner = ShotJoiner(transitions: transitions) { frame in cut.append(frame.rgb8[0]) }
        for shot in shots {
            try joiner.beginShot()
            for level in shot {
                try joiner.append(try VideoFrame(width: 2, height: 2, rgb8: Array(repeating: level, count: 12)))
            }
        }
        try joiner.finish()
        return cut
    }

    func testCutsPassEveryFrameThrough() throws {
        XCTAssertEqual(try join([[1, 2], [3], [4, 5]], [.cut, .cut, .cut]), [1, 2, 3, 4, 5])
    }

    func testACrossfadeBlendsTheOverlappingFramesAndShortensTheCut() throws {
        // Two frames at t = 0.25 and 0.75: 100·0.75 + 200·0.25 = 125, then 175.
        XCTAssertEqual(try join([[100, 100, 100, 100], [200, 200, 200, 200]], [.cut, .crossfade(2)]),
                       [100, 100, 125, 175, 200, 200])
    }

    func testAFadeGoesThroughBlackWithoutOverlapping() throws {
        // Three frames at t = 1/6, 1/2, 5/6: the outgoing one at 2/3, black, the incoming one at 2/3.
        XCTAssertEqual(try join([[90, 90, 90, 90], [180, 180, 180, 180]], [.cut, .fade(3)]),
                       [90, 90, 90, 60, 0, 120, 180, 180])
    }

    func testAShotCarriesATransitionInAndOut() throws {
        XCTAssertEqual(try join([[100, 100], [200, 200, 200], [0, 0]], [.cut, .crossfade(1), .fade(2)]),
                       [100, 150, 200, 100, 0, 0])
    }

    func testAShotTooShortForItsTransitionsIsAnError() {
        XCTAssertThrowsError(try join([[100], [200, 200]], [.cut, .crossfade(2)]))
        XCTAssertThrowsError(try join([[100, 100], [200]], [.cut, .crossfade(2)]))
        XCTAssertThrowsError(try join([[100, 100]], [.crossfade(1)]))
    }

    func testTransitionsReadFromTheEncodeStagesParameter() {
        XCTAssertEqual(ShotJoiner.Transition(parameter: "cut"), .cut)
        XCTAssertEqual(ShotJoiner.Transition(parameter: "crossfade 12"), .crossfade(12))
        XCTAssertEqual(ShotJoiner.Transition(parameter: "fade 7"), .fade(7))
        XCTAssertNil(ShotJoiner.Transition(parameter: "fade 0"))
        XCTAssertNil(ShotJoiner.Transition(parameter: "wipe 3"))
        XCTAssertNil(ShotJoiner.Transition(parameter: "cut 3"))
    }
}
