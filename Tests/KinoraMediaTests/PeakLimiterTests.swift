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

    func testInterSamplePeaksAreHeldUnderThreshold() throws {
        // A quarter-sample-rate sine at 45° phase: samples at ±0.354, the waveform between them peaks at 0.5 (3 dB
        // higher). A sample-peak limiter leaves that overshoot; a true-peak limiter must not.
        let samples = (0..<4800).map { Float(0.5 * sin(Double.pi / 2 * Double($0) + Double.pi / 4)) }
        let buffer = try AudioBuffer(sampleRate: 48000, channels: 1, samples: samples)
        let out = PeakLimiter(thresholdDB: -12, sampleRate: 48000).apply(to: buffer)
        XCTAssertLessThanOrEqual(try Loudness.measure(out).truePeak, -12 + 0.1)
        XCTAssertGreaterThan(try Loudness.measure(out).truePeak, -12 - 0.5)
    }

    func testPeakAtTheVeryStartIsHeld() throws {
        var samples = [Float](repeating: 0.05, count: 4800)
        samples[3] = 0.9
        let buffer = try AudioBuffer(sampleRate: 48000, channels: 1, samples: samples)
        let out = PeakLimiter(thresholdDB: -6, sampleRate: 48000).apply(to: buffer)
        XCTAssertLessThanOrEqual(out.peak, Float(pow(10, -6.0 / 20)) + 1e-6)
    }
}
