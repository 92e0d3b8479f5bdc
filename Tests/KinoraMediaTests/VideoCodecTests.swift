import XCTest

@testable import KinoraMedia

final class VideoCodecTests: XCTestCase {
    func testNamesParseAndUnknownCodecIsAClearError() throws {
        XCTAssertEqual(try VideoCodec(parsing: "HEVC"), .h265)
        XCTAssertEqual(try VideoCodec(parsing: "lossless"), .ffv1)
        XCTAssertThrowsError(try VideoCodec(parsing: "vp7")) { error in
            XCTAssertEqual(error as? MediaError, .unknownCodec("vp7"))
            XCTAssertTrue("\(error)".contains("h264, h265, av1, prores, ffv1"))
        }
    }

    func testOptionsCarryCRFAndPreset() throws {
        XCTAssertEqual(try VideoCodec.h264.encoderOptions(crf: 20, preset: "slow"), ["crf": "20", "preset": "slow"])
        XCTAssertEqual(try VideoCodec.av1.encoderOptions(crf: nil, preset: "fast")["preset"], "9")
        XCTAssertThrowsError(try VideoCodec.h264.encoderOptions(crf: 60, preset: nil))
        XCTAssertThrowsError(try VideoCodec.ffv1.encoderOptions(crf: 10, preset: nil))
    }
}
