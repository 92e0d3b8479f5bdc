import XCTest

@testable import KinoraModels

/// Which frames a frame-rate change copies and where it interpolates, and the scene-cut measure.
final class FrameRateConversionTests: XCTestCase {
    func testSixteenToTwentyFourCopiesEveryOtherSourceFrameAndInterpolatesThirds() throws {
        let conversion = try FrameRateConversion(input: (16, 1), output: (24, 1))
        let frames = conversion.frames(inputCount: 5)
        XCTAssertEqual(frames.map(\.source), [0, 0, 1, 2, 2, 3, 4])
        let expected = [0.0, 2.0 / 3, 1.0 / 3, 0, 2.0 / 3, 1.0 / 3, 0]
        for (frame, t) in zip(frames, expected) { XCTAssertEqual(frame.timestep, t, accuracy: 1e-12) }
    }

    func testDoublingAndNTSCRatesStayExact() throws {
        let doubling = try FrameRateConversion(input: (16, 1), output: (32, 1)).frames(inputCount: 3)
        XCTAssertEqual(doubling.map(\.source), [0, 0, 1, 1, 2])
        XCTAssertEqual(doubling.map(\.timestep), [0, 0.5, 0, 0.5, 0])
        // 24000/1001 → 30000/1001 is exactly 4 → 5: frame 4 of the output lands on source frame 3.2 … 5 on 4.
        let ntsc = try FrameRateConversion(input: (24000, 1001), output: (30000, 1001)).frames(inputCount: 9)
        XCTAssertEqual(ntsc.count, 11)
        XCTAssertEqual(ntsc[5], FrameRateConversion.OutputFrame(source: 4, timestep: 0))
        XCTAssertEqual(ntsc[10], FrameRateConversion.OutputFrame(source: 8, timestep: 0))
    }

    func testALowerRateSkipsSourceFrames() throws {
        let frames = try FrameRateConversion(input: (48, 1), output: (24, 1)).frames(inputCount: 6)
        XCTAssertEqual(frames.map(\.source), [0, 2, 4])
        XCTAssertTrue(frames.allSatisfy { $0.timestep == 0 })
    }

    func testRatesMustBePositiveFractions() {
        XCTAssertThrowsError(try FrameRateConversion(input: (0, 1), output: (24, 1)))
        XCTAssertThrowsError(try FrameRateConversion(input: (16, 1), output: (24, -1)))
    }

    func testSceneCutTellsACutFromMotion() {
        let (height, width) = (48, 64)
        func picture(_ shift: Int, pattern: Int = 0) -> [Float] {
            (0..<(3 * height * width)).map { i in
                let x = i % width + shift
                let y = (i / width) % height
                return pattern == 0
                    ? 0.5 + 0.4 * Float(sin(Double(x) / 6) * cos(Double(y) / 5))
                    : Float((x * 7919 + y * 104_729) % 101) / 101
            }
        }
        XCTAssertEqual(SceneCut.similarity(picture(0), picture(0), height: height, width: width), 1, accuracy: 1e-9)
        XCTAssertGreaterThan(SceneCut.similarity(picture(0), picture(2), height: height, width: width), 0.8)
        XCTAssertFalse(SceneCut.isCut(picture(0), picture(2), height: height, width: width))
        XCTAssertTrue(SceneCut.isCut(picture(0), picture(0, pattern: 1), height: height, width: width))
    }
}
