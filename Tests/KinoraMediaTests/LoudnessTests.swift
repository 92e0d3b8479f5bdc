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
        let normalized = try Loudness.normalize(quiet, targetLUFS: -16)
        XCTAssertEqual(normalized.gainDB, 18.6, accuracy: 0.3)
        let url = directory.appendingPathComponent("n.wav")
        try AudioFile.write(normalized.audio, to: url, format: .wavFloat)
        XCTAssertEqual(try TestSupport.ffmpegIntegratedLoudness(of: url), -16, accuracy: 0.5)
    }

    func testTruePeakCeilingIsHeld() throws {
        // A square-ish signal that needs a lot of gain to reach -9 LUFS, far above -1 dBTP unless limited.
        let samples = (0..<96000).map { Float($0 % 96 < 48 ? 0.1 : -0.1) * (($0 / 4800) % 2 == 0 ? 1 : 0.2) }
        let buffer = try AudioBuffer(sampleRate: 48000, channels: 1, samples: samples)
        let limited = try Loudness.normalize(buffer, targetLUFS: -5, truePeakCeiling: -1).audio
        XCTAssertLessThanOrEqual(try Loudness.measure(limited).truePeak, -1.0 + 0.05)
    }

    /// Normalises `buffer` to `target` under a -1 dBTP ceiling and checks, with libebur128, that the result is within
    /// 0.5 LU of the target, that its true peak is at most 0.1 dB over the ceiling, and that the reported loudness is
    /// the audio's.
    private func assertNormalizes(_ buffer: AudioBuffer, to target: Double, _ name: String,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let ceiling = -1.0
        let normalized = try Loudness.normalize(buffer, targetLUFS: target, truePeakCeiling: ceiling)
        let measured = try Loudness.measure(normalized.audio)
        XCTAssertEqual(measured.integrated, target, accuracy: 0.5, "\(name) at \(target) LUFS", file: file, line: line)
        XCTAssertLessThanOrEqual(measured.truePeak, ceiling + 0.1, "\(name) at \(target) LUFS", file: file, line: line)
        XCTAssertEqual(normalized.loudness, measured, "\(name) at \(target) LUFS", file: file, line: line)
    }

    func testSpeechIsLimitedAndStillReachesTarget() throws {
        // Speech-like bursts (crest factor ~16 dB, true peak ~17 dB over the loudness): at -16 or -14 LUFS the peaks
        // would be 1 to 3 dB over the ceiling.
        let voice = try LoudnessSignals.voice(seconds: 8)
        XCTAssert((15...20).contains(LoudnessSignals.crestFactor(voice)))
        for target in [-16.0, -14.0] { try assertNormalizes(voice, to: target, "voice") }
    }

    func testSpeechOverMusicBedReachesTargetUnderCeiling() throws {
        let mix = try LoudnessSignals.sum(LoudnessSignals.voice(seconds: 8), LoudnessSignals.musicBed(seconds: 8))
        for target in [-16.0, -14.0] { try assertNormalizes(mix, to: target, "voice over music") }
    }

    func testSineReachesTargetUnderCeiling() throws {
        let tone = try TestSupport.sine(frequency: 997, amplitude: 0.1, seconds: 5)
        for target in [-16.0, -14.0] { try assertNormalizes(tone, to: target, "sine") }
    }

    func testWhiteNoiseReachesTargetUnderCeiling() throws {
        // At -9 LUFS the noise's ~14 dB crest factor needs the limiter.
        let noise = try LoudnessSignals.whiteNoise(seconds: 5, rms: 0.05)
        for target in [-16.0, -14.0, -9.0] { try assertNormalizes(noise, to: target, "white noise") }
    }

    func testStereoSpeechReachesTargetUnderCeiling() throws {
        let left = try LoudnessSignals.voice(seconds: 6, seed: 5)
        let right = try LoudnessSignals.voice(seconds: 6, seed: 6)
        let samples = zip(left.samples, right.samples).flatMap { [$0, $1] }
        let stereo = try AudioBuffer(sampleRate: 48000, channels: 2, samples: samples)
        try assertNormalizes(stereo, to: -16, "stereo voice")
    }

    func testUnreachableTargetStopsAtMaximumLimitingAndReportsLoudness() throws {
        // Isolated clicks over near-silence: -14 LUFS would need ~30 dB of limiting. Normalisation takes the
        // allowed 12 dB, holds the ceiling, and reports the loudness it reached.
        let clicks = try LoudnessSignals.clicks(seconds: 5)
        let original = try Loudness.measure(clicks)
        let normalized = try Loudness.normalize(clicks, targetLUFS: -14, truePeakCeiling: -1, maximumLimitingDB: 12)
        let measured = try Loudness.measure(normalized.audio)
        XCTAssertEqual(normalized.loudness, measured)
        XCTAssertLessThan(measured.integrated, -14 - 0.5)
        XCTAssertLessThanOrEqual(measured.truePeak, -1 + 0.1)
        XCTAssertEqual(normalized.gainDB, -1 - original.truePeak + 12, accuracy: 1e-9)
    }

    func testNegativeMaximumLimitingIsRejected() throws {
        let tone = try TestSupport.sine(frequency: 997, amplitude: 0.1, seconds: 1)
        XCTAssertThrowsError(try Loudness.normalize(tone, maximumLimitingDB: -1))
    }

    func testSilenceIsLeftAlone() throws {
        let silence = try AudioBuffer(silenceOf: 4800, sampleRate: 48000, channels: 1)
        let normalized = try Loudness.normalize(silence)
        XCTAssertEqual(normalized.audio, silence)
        XCTAssertEqual(normalized.gainDB, 0)
    }

    func testARateLibebur128CannotMeasureIsRefusedStatingTheRange() throws {
        let buffer = try AudioBuffer(sampleRate: 15, channels: 1, samples: [Float](repeating: 0.1, count: 30))
        XCTAssertThrowsError(try Loudness.measure(buffer)) { error in
            XCTAssertTrue(String(describing: error).contains("must be within 16...2822400 Hz, got 15"), "\(error)")
        }
    }
}
