import Foundation
import XCTest

@testable import KinoraMedia

final class LoudnessTests: XCTestCase {
    func testSineLoudnessMatchesBS1770() throws {
        // A 997 Hz sine at -20 dBFS peak in one channel reads -23.0 LUFS +- 0.1 (EBU Tech 3341's reference).
        let tone = try TestSupport.sine(frequency: 997, amplitude: Float(pow(10, -20.0 / 20)), seconds: 5)
        let measured = try Loudness.measure(tone)
        XCTAssertEqual(measured.integrated, -23.0, accuracy: 0.15)
        XCTAssertEqual(measured.truePeak, -20, accuracy: 0.2)
    }

    func testNormalizedAudioMeetsTargetAsMeasuredByFFmpeg() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let quiet = try TestSupport.sine(frequency: 440, amplitude: 0.02, seconds: 4, channels: 2)
        let (normalized, gain) = try Loudness.normalize(quiet, targetLUFS: -16)
        XCTAssertEqual(gain, 18.6, accuracy: 0.3)
        let url = directory.appendingPathComponent("n.wav")
        try AudioFile.write(normalized, to: url, format: .wavFloat)
        XCTAssertEqual(try TestSupport.ffmpegIntegratedLoudness(of: url), -16, accuracy: 0.5)
    }

    func testTruePeakCeilingIsHeld() throws {
        // A square-ish signal that needs a lot of gain to reach -9 LUFS, far above -1 dBTP unless limited.
        let samples = (0..<96000).map { Float($0 % 96 < 48 ? 0.1 : -0.1) * (($0 / 4800) % 2 == 0 ? 1 : 0.2) }
        let buffer = try AudioBuffer(sampleRate: 48000, channels: 1, samples: samples)
        let (limited, _) = try Loudness.normalize(buffer, targetLUFS: -5, truePeakCeiling: -1)
        XCTAssertLessThanOrEqual(try Loudness.measure(limited).truePeak, -1.0 + 0.05)
    }

    func testSilenceIsLeftAlone() throws {
        let silence = try AudioBuffer(silenceOf: 4800, sampleRate: 48000, channels: 1)
        let (out, gain) = try Loudness.normalize(silence)
        XCTAssertEqual(out, silence)
        XCTAssertEqual(gain, 0)
    }
}
