import Foundation
import XCTest

@testable import KinoraMedia

final class MixerStreamingTests: XCTestCase {
    /// A reproducible stream of numbers in 0..<1 (a 64-bit LCG), so a failure can be replayed.
    private struct Random {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    /// `frames` of noise under a slow random envelope with a few spikes near full scale, so the limiter has
    /// peaks to hold and the ducker's key rises and falls.
    private func signal(_ random: inout Random, frames: Int, sampleRate: Int = 48000, channels: Int) throws
        -> AudioBuffer
    {
        var samples = [Float](repeating: 0, count: frames * channels)
        var level = 0.2
        for frame in 0..<frames {
            if frame % 2000 == 0 { level = random.next() < 0.3 ? 0 : 0.05 + 0.3 * random.next() }
            for channel in 0..<channels {
                var value = (random.next() * 2 - 1) * level
                if random.next() < 0.0005 { value = (random.next() < 0.5 ? -1 : 1) * (0.7 + 0.29 * random.next()) }
                samples[frame * channels + channel] = Float(value)
            }
        }
        return try AudioBuffer(sampleRate: sampleRate, channels: channels, samples: samples)
    }

    /// Voices, a looped music bed, an effect cut by the mix's end and a resampled line: awkward lengths, fades,
    /// pans, gains and starts between samples.
    private func tracks(seed: UInt64) throws -> [MixTrack] {
        var random = Random(state: seed)
        return [
            MixTrack(name: "bed", audio: try signal(&random, frames: 17_389, channels: 2), role: .music,
                     start: 0.0503, gainDB: -3, fadeIn: 0.31, fadeOut: 0.4471, pan: -0.3, length: 3.01, loop: true),
            MixTrack(name: "line", audio: try signal(&random, frames: 33_331, channels: 1), role: .voice,
                     start: 0.2013, gainDB: 4),
            MixTrack(name: "effect", audio: try signal(&random, frames: 52_919, channels: 2), role: .effect,
                     start: 2.3, gainDB: -1.5, fadeIn: 0.05, fadeOut: 0.2, pan: 0.6),
            MixTrack(name: "other", audio: try signal(&random, frames: 20_011, sampleRate: 44100, channels: 1),
                     role: .voice, start: 1.73, gainDB: 1, fadeOut: 0.013),
            MixTrack(name: "short bed", audio: try signal(&random, frames: 7_001, channels: 1), role: .music,
                     start: 1.1, fadeIn: 0.02, fadeOut: 0.3, pan: 0.25, length: 0.9, loop: true),
        ]
    }

    private func streamed(_ mixer: Mixer, _ tracks: [MixTrack], blockFrames: Int) throws
        -> (audio: AudioBuffer, result: StreamedMix)
    {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var samples: [Float] = []
        var blocks = 0
        let result = try mixer.mix(tracks, blockFrames: blockFrames, scratchDirectory: directory) { block in
            XCTAssertLessThanOrEqual(block.count, blockFrames * mixer.settings.channels)
            samples += block
            blocks += 1
        }
        XCTAssertEqual(blocks, (result.frameCount + blockFrames - 1) / blockFrames)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [],
                       "the scratch master is removed")
        let audio = try AudioBuffer(sampleRate: mixer.settings.sampleRate, channels: mixer.settings.channels,
                                    samples: samples)
        return (audio, result)
    }

    private func assertSame(_ streamed: AudioBuffer, _ whole: AudioBuffer, tolerance: Float, _ message: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(streamed.frameCount, whole.frameCount, message, file: file, line: line)
        guard streamed.samples.count == whole.samples.count else { return }
        var worst: (difference: Float, index: Int) = (0, 0)
        for i in whole.samples.indices where abs(streamed.samples[i] - whole.samples[i]) > worst.difference {
            worst = (abs(streamed.samples[i] - whole.samples[i]), i)
        }
        XCTAssertLessThanOrEqual(worst.difference, tolerance,
                                 "\(message): frame \(worst.index / whole.channels) differs by \(worst.difference)",
                                 file: file, line: line)
    }

    /// `tracks` with each buffer written to a float WAV in `directory` (which keeps every sample exactly) and the
    /// track reading that file instead.
    private func onDisk(_ tracks: [MixTrack], in directory: URL) throws -> [MixTrack] {
        try tracks.enumerated().map { index, track in
            guard case let .buffer(buffer) = track.audio else { return track }
            let url = directory.appendingPathComponent("track\(index).wav")
            try AudioFile.write(buffer, to: url, format: .wavFloat)
            var copy = track
            copy.audio = .file(url)
            return copy
        }
    }

    func testStreamedMixEqualsWholeBufferMixWithDuckingAndNoNormalization() throws {
        let tracks = try tracks(seed: 7)
        var settings = MixSettings(ducking: DuckingSettings(reductionDB: -10, attack: 0.013, release: 0.21),
                                   loudnessTarget: nil, duration: 3.2)
        for channels in [2, 1] {
            settings.channels = channels
            let mixer = Mixer(settings: settings)
            let whole = try mixer.mix(tracks).mix
            XCTAssertEqual(whole.frameCount, 153_600)
            // Block sizes whose boundaries fall inside fades, attacks and loop seams, and one block for it all.
            for blockFrames in [1, 997, 4096, 200_000] where channels == 2 || blockFrames != 1 {
                let (audio, result) = try streamed(mixer, tracks, blockFrames: blockFrames)
                assertSame(audio, whole, tolerance: 0, "\(channels) channels, blocks of \(blockFrames)")
                XCTAssertEqual(result.normalizationGainDB, 0)
                XCTAssertNil(result.loudness)
            }
        }
    }

    func testStreamedMixEqualsWholeBufferMixWhenNormalizedAndLimited() throws {
        let tracks = try tracks(seed: 11)
        let settings = MixSettings(ducking: DuckingSettings(), loudnessTarget: -9, truePeakCeiling: -1.5,
                                   duration: 3.2)
        let mixer = Mixer(settings: settings)
        let whole = try mixer.mix(tracks)
        // The spikes sit far over the mix's loudness, so reaching -9 LUFS needs the limiter.
        XCTAssertGreaterThan(whole.normalizationGainDB, -1.5 - (try Loudness.measure(
            Mixer(settings: MixSettings(ducking: DuckingSettings(), loudnessTarget: nil, duration: 3.2))
                .mix(tracks).mix).truePeak))
        for blockFrames in [997, 4096] {
            let (audio, result) = try streamed(mixer, tracks, blockFrames: blockFrames)
            assertSame(audio, whole.mix, tolerance: 1e-6, "blocks of \(blockFrames)")
            XCTAssertEqual(result.normalizationGainDB, whole.normalizationGainDB, accuracy: 1e-9)
            let loudness = try XCTUnwrap(result.loudness)
            XCTAssertEqual(loudness.integrated, try XCTUnwrap(whole.loudness).integrated, accuracy: 1e-6)
            XCTAssertEqual(loudness.truePeak, try XCTUnwrap(whole.loudness).truePeak, accuracy: 1e-6)
        }
    }

    func testStreamedMixEqualsWholeBufferMixWhenNormalizedWithoutLimiting() throws {
        let tracks = try tracks(seed: 3)
        let mixer = Mixer(settings: MixSettings(ducking: nil, loudnessTarget: -30, truePeakCeiling: -1))
        let whole = try mixer.mix(tracks)
        let (audio, result) = try streamed(mixer, tracks, blockFrames: 1500)
        assertSame(audio, whole.mix, tolerance: 1e-6, "quiet target")
        XCTAssertEqual(result.normalizationGainDB, whole.normalizationGainDB, accuracy: 1e-9)
        XCTAssertLessThan(result.normalizationGainDB, 0)
    }

    func testSilentMixStreamsUnchanged() throws {
        let silence = try AudioBuffer(silenceOf: 5000, sampleRate: 48000, channels: 2)
        let mixer = Mixer(settings: MixSettings(duration: 0.5))
        let (audio, result) = try streamed(mixer, [MixTrack(name: "quiet", audio: silence)], blockFrames: 4096)
        XCTAssertEqual(audio, try AudioBuffer(silenceOf: 24000, sampleRate: 48000, channels: 2))
        XCTAssertEqual(result.normalizationGainDB, 0)
    }

    func testLoopedTrackRepeatsItsAudioToItsLengthAndCutTrackStops() throws {
        let ramp = try AudioBuffer(sampleRate: 48000, channels: 1, samples: (0..<100).map { Float($0) / 100 })
        let plain = MixSettings(channels: 1, ducking: nil, loudnessTarget: nil)
        let looped = try Mixer(settings: plain).mix([
            MixTrack(name: "loop", audio: ramp, length: 250.0 / 48000, loop: true),
        ]).mix
        XCTAssertEqual(looped.frameCount, 250)
        XCTAssertEqual(looped.samples[0..<100], ramp.samples[0..<100])
        XCTAssertEqual(looped.samples[200..<250], ramp.samples[0..<50])
        let cut = try Mixer(settings: plain).mix([MixTrack(name: "cut", audio: ramp, length: 30.0 / 48000)]).mix
        XCTAssertEqual(cut.samples, Array(ramp.samples[0..<30]))
    }

    /// Tracks read from their files a block at a time (a looped bed reopened at each repeat, a 44.1 kHz line resampled
    /// as it is read, mono lines spread to stereo) mix to the same samples as the same tracks held in memory, streamed
    /// or whole, with and without normalisation.
    func testTracksFromFilesMixExactlyAsTheirBuffers() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let held = try tracks(seed: 5)
        let files = try onDisk(held, in: directory)
        var settings = MixSettings(ducking: DuckingSettings(reductionDB: -10, attack: 0.013, release: 0.21),
                                   loudnessTarget: nil, duration: 3.2)
        for channels in [2, 1] {
            settings.channels = channels
            let mixer = Mixer(settings: settings)
            let whole = try mixer.mix(held).mix
            XCTAssertEqual(try mixer.mix(files).mix, whole, "\(channels) channels, whole")
            for blockFrames in [1, 997, 16384] where channels == 2 || blockFrames != 1 {
                let (audio, _) = try streamed(mixer, files, blockFrames: blockFrames)
                assertSame(audio, whole, tolerance: 0, "\(channels) channels, blocks of \(blockFrames)")
            }
        }
        let normalized = Mixer(settings: MixSettings(ducking: DuckingSettings(), loudnessTarget: -9,
                                                     truePeakCeiling: -1.5, duration: 3.2))
        let (fromBuffers, bufferResult) = try streamed(normalized, held, blockFrames: 4096)
        let (fromFiles, fileResult) = try streamed(normalized, files, blockFrames: 4096)
        assertSame(fromFiles, fromBuffers, tolerance: 0, "normalised")
        XCTAssertEqual(fileResult.normalizationGainDB, bufferResult.normalizationGainDB)
    }

    func testALoopedTrackFromAFileRepeatsItToItsLength() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ramp = try AudioBuffer(sampleRate: 48000, channels: 1, samples: (0..<100).map { Float($0) / 100 })
        let url = directory.appendingPathComponent("ramp.wav")
        try AudioFile.write(ramp, to: url, format: .wavFloat)
        let mixer = Mixer(settings: MixSettings(channels: 1, ducking: nil, loudnessTarget: nil))
        let track = MixTrack(name: "loop", source: .file(url), length: 250.0 / 48000, loop: true)
        for blockFrames in [7, 100, 4096] {
            let (looped, result) = try streamed(mixer, [track], blockFrames: blockFrames)
            XCTAssertEqual(result.frameCount, 250)
            XCTAssertEqual(looped.samples, Array((ramp.samples + ramp.samples + ramp.samples)[0..<250]),
                           "blocks of \(blockFrames)")
        }
    }
}
