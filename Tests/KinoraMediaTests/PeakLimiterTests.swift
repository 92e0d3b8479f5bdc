import XCTest

@testable import KinoraMedia

final class PeakLimiterTests: XCTestCase {
    func testNoSampleExceedsThresholdAndQuietPartsPassUnchanged() throws {
        var samples = [Float](repeating: 0.1, count: 48000)
        for i in 20000..<20100 { samples[i] = i % 2 == 0 ? 0.9 : -0.9 }
        let buffer = try AudioBuffer(sampleRate: 48000, channels: 1, samples: samples)
        let out = PeakLimiter(thresholdDB: -6, sampleRate: 48000).apply(to: buffer)
        XCTAssertLessThanOrEqual(out.peak, Float(pow(10, -6.0 / 20)) + 1e-6)
        XCTAssertEqual(out.samples[1000], 0.1, accuracy: 1e-6)
        XCTAssertEqual(out.samples[47000], 0.1, accuracy: 1e-3)
    }
}
