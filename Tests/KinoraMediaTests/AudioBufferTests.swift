import XCTest

@testable import KinoraMedia

final class AudioBufferTests: XCTestCase {
    func testChannelConversionAndResizing() throws {
        let stereo = try AudioBuffer(sampleRate: 8000, channels: 2, samples: [1, 0, 0.5, 0.5])
        XCTAssertEqual(try stereo.withChannels(1).samples, [0.5, 0.5])
        XCTAssertEqual(try AudioBuffer(sampleRate: 8000, channels: 1, samples: [0.25]).withChannels(2).samples,
                       [0.25, 0.25])
        XCTAssertEqual(stereo.resized(to: 3).samples, [1, 0, 0.5, 0.5, 0, 0])
        XCTAssertEqual(stereo.resized(to: 1).samples, [1, 0])
        XCTAssertEqual(stereo.duration, 2.0 / 8000)
        XCTAssertThrowsError(try AudioBuffer(sampleRate: 8000, channels: 2, samples: [1]))
    }
}
