import XCTest

@testable import KinoraMedia

final class ResamplerTests: XCTestCase {
    func testResamplingKeepsDurationAmplitudeAndFrequency() throws {
        let tone = try TestSupport.sine(frequency: 1000, amplitude: 0.5, seconds: 0.5, sampleRate: 44100)
        let out = try Resampler.resample(tone, to: 48000)
        XCTAssertEqual(out.sampleRate, 48000)
        XCTAssertEqual(out.frameCount, 24000)
        XCTAssertEqual(TestSupport.rms(out, frames: 2000..<22000), Float(0.5 / 2.0.squareRoot()), accuracy: 0.005)
        let reference = try TestSupport.sine(frequency: 1000, amplitude: 0.5, seconds: 0.5, sampleRate: 48000)
        let error = (2000..<22000).map { abs(out.samples[$0] - reference.samples[$0]) }.max()!
        XCTAssertLessThan(error, 0.01)
    }

    func testSameRateIsIdentity() throws {
        let tone = try TestSupport.sine(frequency: 440, amplitude: 0.2, seconds: 0.01)
        XCTAssertEqual(try Resampler.resample(tone, to: 48000), tone)
    }

    func testTargetRatesOutsideTheRangeAreRefusedInsteadOfReachingThirtyTwoBits() throws {
        let buffer = try AudioBuffer(sampleRate: 48_000, channels: 1, samples: [0, 0.5, 0])
        for rate in [15, 3_000_000_000] {
            XCTAssertThrowsError(try Resampler.resample(buffer, to: rate)) { error in
                XCTAssertTrue(String(describing: error).contains("within 8000...384000 Hz, got \(rate)"), "\(error)")
            }
        }
    }

    func testResampledSourceReadInPiecesEqualsWholeResampling() throws {
        let tone = try TestSupport.sine(frequency: 997, amplitude: 0.4, seconds: 0.7331, sampleRate: 44100,
                                        channels: 2)
        for (rate, piece) in [(48000, 1), (48000, 1023), (22050, 5000), (96000, 100_000)] {
            let whole = try Resampler.resample(tone, to: rate)
            let source = try ResampledSource(AudioBufferSource(tone), to: rate)
            XCTAssertEqual(source.frameCount, whole.frameCount)
            var samples: [Float] = []
            while case let read = try source.read(frames: piece), !read.isEmpty {
                XCTAssertLessThanOrEqual(read.count, piece * 2)
                samples += read
            }
            XCTAssertEqual(samples, whole.samples, "\(rate) Hz in pieces of \(piece)")
        }
    }
}
