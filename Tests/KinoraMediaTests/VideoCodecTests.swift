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
        let h264 = try VideoCodec.h264.encoderOptions(crf: 20, preset: "slow")
        XCTAssertEqual(h264.filter { $0.key != "x264-params" }, ["crf": "20", "preset": "slow"])
        // On a CPU with AVX-512, x264 is kept off it (see X264InstructionSets).
        XCTAssertEqual(h264["x264-params"], X264InstructionSets.withoutAVX512)
        XCTAssertEqual(try VideoCodec.av1.encoderOptions(crf: nil, preset: "fast")["preset"], "9")
        XCTAssertThrowsError(try VideoCodec.h264.encoderOptions(crf: 60, preset: nil))
        XCTAssertThrowsError(try VideoCodec.ffv1.encoderOptions(crf: 10, preset: nil))
    }
}
