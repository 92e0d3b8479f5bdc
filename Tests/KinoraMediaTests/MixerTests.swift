import Foundation
import XCTest

@testable import KinoraMedia

final class MixerTests: XCTestCase {
    private func impulse(frames: Int = 100) throws -> AudioBuffer {
        var samples = [Float](repeating: 0, count: frames)
        samples[0] = 0.5
        return try AudioBuffer(sampleRate: 48000, channels: 1, samples: samples)
    }

    private let plain = MixSettings(sampleRate: 48000, channels: 2, ducking: nil, loudnessTarget: nil)

    func testOffsetsAreExactToTheSample() throws {
        let result = try Mixer(settings: plain).mix([
            MixTrack(name: "a", audio: try impulse(), start: 0.5),
            MixTrack(name: "b", audio: try impulse(), start: 1.25),
        ])
        let nonZero = (0..<result.mix.frameCount).filter { result.mix[$0, 0] != 0 }
        XCTAssertEqual(nonZero, [24000, 60000])
        XCTAssertEqual(result.mix.frameCount, 60100)
        XCTAssertEqual(result.stems.map(\.name), ["a", "b"])
    }

    func testGainAndPanGiveExpectedAmplitudes() throws {
        let result = try Mixer(settings: plain).mix([
            MixTrack(name: "a", audio: try impulse(), gainDB: -6.0206, pan: 0.5),
        ])
        XCTAssertEqual(result.mix[0, 0], 0.125, accuracy: 1e-5)
        XCTAssertEqual(result.mix[0, 1], 0.25, accuracy: 1e-5)
    }

    func testFadesRampLinearly() throws {
        let ones = try AudioBuffer(sampleRate: 48000, channels: 1, samples: [Float](repeating: 1, count: 48000))
        let result = try Mixer(settings: plain).mix([MixTrack(name: "a", audio: ones, fadeIn: 0.5, fadeOut: 0.25)])
        XCTAssertEqual(result.mix[0, 0], 0, accuracy: 1e-6)
        XCTAssertEqual(result.mix[12000, 0], 0.5, accuracy: 1e-4)
        XCTAssertEqual(result.mix[30000, 0], 1, accuracy: 1e-6)
        XCTAssertEqual(result.mix[42000, 0], 0.5, accuracy: 1e-3)
        XCTAssertEqual(result.mix[47999, 0], 0, accuracy: 1e-6)
    }

    func testMusicIsDuckedOnlyUnderVoice() throws {
        let music = try TestSupport.sine(frequency: 220, amplitude: 0.4, seconds: 4)
        let voice = try TestSupport.sine(frequency: 1000, amplitude: 0.3, seconds: 1)
        var settings = plain
        settings.ducking = DuckingSettings(reductionDB: -12, attack: 0.05, release: 0.3)
        let result = try Mixer(settings: settings).mix([
            MixTrack(name: "music", audio: music, role: .music),
            MixTrack(name: "voice", audio: voice, role: .voice, start: 1.5),
        ])
        let musicStem = result.stems[0].audio
        let full = 0.4 / Float(2).squareRoot()
        XCTAssertEqual(TestSupport.rms(musicStem, frames: 24000..<60000), full, accuracy: 0.005)
        XCTAssertEqual(TestSupport.rms(musicStem, frames: 96000..<110000), full * Float(pow(10, -12.0 / 20)),
                       accuracy: 0.01)
        XCTAssertEqual(TestSupport.rms(musicStem, frames: 175000..<190000), full, accuracy: 0.01)
    }

    func testNormalizedMixMeetsTargetMeasuredIndependently() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Mixer(settings: MixSettings()).mix([
            MixTrack(name: "music", audio: try TestSupport.sine(frequency: 330, amplitude: 0.05, seconds: 4),
                     role: .music),
            MixTrack(name: "voice", audio: try TestSupport.sine(frequency: 800, amplitude: 0.1, seconds: 1.5),
                     role: .voice, start: 1),
        ])
        let url = directory.appendingPathComponent("mix.wav")
        try AudioFile.write(result.mix, to: url, format: .wavFloat)
        XCTAssertEqual(try TestSupport.ffmpegIntegratedLoudness(of: url), -14, accuracy: 0.5)
        XCTAssertLessThanOrEqual(try Loudness.measure(result.mix).truePeak, -1 + 0.05)
    }

    func testSpeechOverMusicMixReachesTargetUnderCeilingAndReportsIt() throws {
        // The render case: a peaky voice over a quieter music bed, ducked, normalised to -16 LUFS under -1 dBTP. In
        // mono the voice's peaks sit ~17 dB over its loudness, so the limiter has to work.
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Mixer(settings: MixSettings(channels: 1, loudnessTarget: -16, truePeakCeiling: -1)).mix([
            MixTrack(name: "music", audio: try LoudnessSignals.musicBed(seconds: 8), role: .music),
            MixTrack(name: "voice", audio: try LoudnessSignals.voice(seconds: 7), role: .voice, start: 0.5),
        ])
        let measured = try Loudness.measure(result.mix)
        XCTAssertEqual(result.loudness, measured)
        XCTAssertEqual(measured.integrated, -16, accuracy: 0.5)
        XCTAssertLessThanOrEqual(measured.truePeak, -1 + 0.1)
        let url = directory.appendingPathComponent("mix.wav")
        try AudioFile.write(result.mix, to: url, format: .wavFloat)
        XCTAssertEqual(try TestSupport.ffmpegIntegratedLoudness(of: url), -16, accuracy: 0.5)
    }

    func testInvalidPanIsRejected() throws {
        XCTAssertThrowsError(try Mixer(settings: plain).mix([MixTrack(name: "a", audio: try impulse(), pan: 2)]))
    }

    func testOutOfRangeStartsGainsFadesPansAndRatesAreRefusedBeforeAnythingIsAllocated() throws {
        let cases: [(MixSettings, MixTrack, String)] = [
            (plain, MixTrack(name: "a", audio: try impulse(), start: 1e308),
             "track 'a' start must be within 0...86400 s"),
            (plain, MixTrack(name: "a", audio: try impulse(), gainDB: .infinity), "track 'a' gain"),
            (plain, MixTrack(name: "a", audio: try impulse(), fadeIn: 1e308), "track 'a' fade-in"),
            (plain, MixTrack(name: "a", audio: try impulse(), pan: .nan),
             "track 'a' pan must be within -1...1, got nan"),
            (MixSettings(sampleRate: 15, ducking: nil, loudnessTarget: nil), MixTrack(name: "a", audio: try impulse()),
             "the mix's sample rate must be within 8000...384000 Hz, got 15"),
            (MixSettings(sampleRate: 3_000_000_000, ducking: nil, loudnessTarget: nil),
             MixTrack(name: "a", audio: try impulse()), "got 3000000000"),
            (MixSettings(ducking: nil, loudnessTarget: .nan), MixTrack(name: "a", audio: try impulse()),
             "the loudness target must be within -70...0 LUFS, got nan"),
        ]
        for (settings, track, expected) in cases {
            XCTAssertThrowsError(try Mixer(settings: settings).mix([track])) { error in
                XCTAssertTrue(String(describing: error).contains(expected), "\(error)")
            }
        }
    }

    func testATimelineThatCannotFitInMemoryIsRefusedSayingHowMuchItNeeds() throws {
        let track = MixTrack(name: "a", audio: try impulse(), start: 86_000)
        let settings = MixSettings(sampleRate: 384_000, ducking: nil, loudnessTarget: nil)
        XCTAssertThrowsError(try Mixer(settings: settings).mix([track, track, track])) { error in
            XCTAssertTrue(String(describing: error).contains("GB of memory"), "\(error)")
        }
    }
}
