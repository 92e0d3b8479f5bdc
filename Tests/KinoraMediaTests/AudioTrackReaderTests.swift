import Foundation
import XCTest

@testable import KinoraMedia

final class AudioTrackReaderTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A sine on one channel.
    private struct Tone {
        var frequency: Double
        var amplitude: Float
    }

    /// One tone per channel: silence until `onset` seconds, then each sine from phase 0.
    private func gatedTones(_ tones: [Tone], sampleRate: Int, seconds: Double, onset: Double = 0.25) throws
        -> AudioBuffer
    {
        let frames = Int((seconds * Double(sampleRate)).rounded())
        let start = Int((onset * Double(sampleRate)).rounded())
        var samples = [Float](repeating: 0, count: frames * tones.count)
        for frame in start..<frames {
            let time = Double(frame - start) / Double(sampleRate)
            for (channel, tone) in tones.enumerated() {
                samples[frame * tones.count + channel] =
                    tone.amplitude * Float(sin(2 * Double.pi * tone.frequency * time))
            }
        }
        return try AudioBuffer(sampleRate: sampleRate, channels: tones.count, samples: samples)
    }

    /// `source` written as a float WAV, then encoded by the ffmpeg command with `arguments` (codec, options, and any
    /// extra inputs placed after the WAV) into `name`.
    private func encode(_ source: AudioBuffer, _ name: String, _ arguments: [String], before: [String] = [])
        throws -> URL
    {
        let wav = directory.appendingPathComponent(name + ".source.wav")
        try AudioFile.write(source, to: wav, format: .wavFloat)
        let url = directory.appendingPathComponent(name)
        try TestSupport.ffmpeg(before + ["-i", wav.path] + arguments + [url.path])
        return url
    }

    /// Amplitude of the sine at `frequency` in `channel` over `range`, and the RMS of what a sine at that frequency
    /// does not explain (least squares on sine and cosine).
    private func fit(_ buffer: AudioBuffer, channel: Int, frequency: Double, frames range: Range<Int>)
        -> (amplitude: Double, residual: Double)
    {
        var ss = 0.0
        var cc = 0.0
        var sc = 0.0
        var xs = 0.0
        var xc = 0.0
        var xx = 0.0
        for frame in range {
            let phase = 2 * Double.pi * frequency * Double(frame) / Double(buffer.sampleRate)
            let s = sin(phase)
            let c = cos(phase)
            let x = Double(buffer[frame, channel])
            ss += s * s
            cc += c * c
            sc += s * c
            xs += x * s
            xc += x * c
            xx += x * x
        }
        let determinant = ss * cc - sc * sc
        let a = (xs * cc - xc * sc) / determinant
        let b = (xc * ss - xs * sc) / determinant
        let explained = a * xs + b * xc
        return ((a * a + b * b).squareRoot(), (max(0, xx - explained) / Double(range.count)).squareRoot())
    }

    /// The first frame of `channel` whose magnitude reaches half of `amplitude`.
    private func onset(_ buffer: AudioBuffer, channel: Int = 0, amplitude: Float) -> Int? {
        (0..<buffer.frameCount).first { abs(buffer[$0, channel]) >= amplitude / 2 }
    }

    /// Arguments that put a gray 64×64, 24 fps, 1.5 s H.264 picture in front of the audio input given after them.
    private let grayVideo = ["-f", "lavfi", "-i", "color=c=gray:s=64x64:r=24:d=1.5"]
    private let h264 = ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-pix_fmt", "yuv420p"]

    /// 0.25 s of silence, then 440 Hz at 0.5 on the left and 1000 Hz at 0.25 on the right, 1.5 s in all.
    private func stereoSource(sampleRate: Int = 48000) throws -> AudioBuffer {
        try gatedTones(
            [Tone(frequency: 440, amplitude: 0.5), Tone(frequency: 1000, amplitude: 0.25)],
            sampleRate: sampleRate, seconds: 1.5)
    }

    /// Checks a decoded copy of `stereoSource()`: each tone on its own channel and nowhere else, starting where it
    /// should, silence before it, within the tolerances of a lossy codec.
    private func checkStereoTones(
        _ buffer: AudioBuffer, source: AudioBuffer, amplitudeTolerance: Double,
        residual: Double, _ name: String
    ) {
        XCTAssertEqual(
            onset(buffer, channel: 0, amplitude: 0.5)!, onset(source, channel: 0, amplitude: 0.5)!,
            accuracy: 2, name)
        XCTAssertEqual(
            onset(buffer, channel: 1, amplitude: 0.25)!, onset(source, channel: 1, amplitude: 0.25)!,
            accuracy: 2, name)
        let start = buffer.sampleRate * 3 / 10
        let steady = start..<(buffer.sampleRate * 29 / 20)
        let left = fit(buffer, channel: 0, frequency: 440, frames: steady)
        let right = fit(buffer, channel: 1, frequency: 1000, frames: steady)
        XCTAssertEqual(left.amplitude, 0.5, accuracy: amplitudeTolerance, name)
        XCTAssertEqual(right.amplitude, 0.25, accuracy: amplitudeTolerance, name)
        XCTAssertLessThan(left.residual, residual, name)
        XCTAssertLessThan(right.residual, residual, name)
        XCTAssertLessThan(fit(buffer, channel: 0, frequency: 1000, frames: steady).amplitude, 0.001, name)
        XCTAssertLessThan(fit(buffer, channel: 1, frequency: 440, frames: steady).amplitude, 0.001, name)
        let quiet = 0..<(buffer.sampleRate / 4 - 2048)
        XCTAssertLessThan(TestSupport.rms(buffer, channel: 0, frames: quiet), 0.001, name)
        XCTAssertLessThan(TestSupport.rms(buffer, channel: 1, frames: quiet), 0.001, name)
    }

    /// The largest difference between two runs of samples, or infinity if their lengths differ.
    private func largestDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    /// The start time of a file's first video ("v") or audio ("a") stream, as the ffprobe command reports it.
    private func startTime(of url: URL, stream: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        process.arguments = [
            "-v", "error", "-select_streams", "\(stream):0", "-show_entries", "stream=start_time",
            "-of", "csv=p=0", url.path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return try XCTUnwrap(Double(text), "ffprobe said '\(text)'")
    }

    /// Whether this ffmpeg command has an encoder.
    private func ffmpegHasEncoder(_ name: String) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-encoders"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").contains {
            $0.split(separator: " ").dropFirst().first == Substring(name)
        }
    }

    func testAACStereoInMP4KeepsItsRateChannelsExactLengthAndTones() throws {
        let source = try stereoSource()
        let url = try encode(source, "aac.mp4", h264 + ["-c:a", "aac", "-b:a", "192k"], before: grayVideo)
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.sampleRate, 48000)
        XCTAssertEqual(buffer.channels, 2)
        // The edit list drops the encoder's 1024 priming samples and states 1.5 s; the decoder's padding past it
        // is cut, so the length is exact.
        XCTAssertEqual(buffer.frameCount, source.frameCount)
        checkStereoTones(buffer, source: source, amplitudeTolerance: 0.005, residual: 0.002, "aac.mp4")
    }

    func testOpusInMKVKeepsItsExactLengthAndTone() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 48000, seconds: 1.5)
        let url = try encode(source, "opus.mkv", ["-c:a", "libopus", "-b:a", "128k"])
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.sampleRate, 48000)
        XCTAssertEqual(buffer.channels, 1)
        // Opus's pre-skip is dropped at the start and the last block's discard padding at the end: exact.
        XCTAssertEqual(buffer.frameCount, source.frameCount)
        XCTAssertEqual(onset(buffer, amplitude: 0.5)!, onset(source, amplitude: 0.5)!, accuracy: 2)
        let tone = fit(buffer, channel: 0, frequency: 440, frames: 14400..<69600)
        XCTAssertEqual(tone.amplitude, 0.5, accuracy: 0.005)
        XCTAssertLessThan(tone.residual, 0.005)
        XCTAssertLessThan(TestSupport.rms(buffer, frames: 0..<10000), 0.001)
    }

    func testOpusBesideVideoInMKVStartsAtTheFirstVideoFrame() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 48000, seconds: 1.5)
        let url = try encode(source, "opus-video.mkv", h264 + ["-c:a", "libopus"], before: grayVideo)
        // ffmpeg moves the file's timestamps by the Opus pre-skip (312 samples, 7 ms) to keep them from going
        // negative, but Matroska gives the audio's start before its pre-skip again: the first video frame comes
        // about 7 ms after the first audible sample, and that much audio precedes it.
        let firstSample = try startTime(of: url, stream: "a") + 312.0 / 48000
        let lead = (try startTime(of: url, stream: "v") - firstSample) * 48000
        XCTAssertGreaterThan(lead, 100)
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        let dropped = source.frameCount - buffer.frameCount
        // Matroska timestamps are whole milliseconds: 48 samples.
        XCTAssertEqual(Double(dropped), lead, accuracy: 48)
        XCTAssertEqual(onset(buffer, amplitude: 0.5)!, onset(source, amplitude: 0.5)! - dropped, accuracy: 2)
    }

    func testPCMMonoInMOVIsExactAtItsOwnRate() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 22050, seconds: 1.5)
        let url = try encode(source, "pcm.mov", ["-c:a", "pcm_s16le"])
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.sampleRate, 22050)
        XCTAssertEqual(buffer.channels, 1)
        XCTAssertEqual(buffer.frameCount, source.frameCount)
        // 16-bit PCM rounds each sample to the nearest 1/32768.
        XCTAssertLessThanOrEqual(largestDifference(buffer.samples[...], source.samples[...]), 1.0 / 32768)
    }

    func testVorbisStereoInWebMKeepsItsRateChannelsAndTones() throws {
        guard try ffmpegHasEncoder("libvorbis") else { throw XCTSkip("this ffmpeg has no libvorbis encoder") }
        let source = try stereoSource(sampleRate: 44100)
        let url = try encode(source, "vorbis.webm", ["-c:a", "libvorbis", "-q:a", "6"])
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.sampleRate, 44100)
        XCTAssertEqual(buffer.channels, 2)
        // WebM states no per-stream duration to cut to, so the end may keep up to one long Vorbis block (2048).
        XCTAssertGreaterThanOrEqual(buffer.frameCount, source.frameCount)
        XCTAssertLessThanOrEqual(buffer.frameCount, source.frameCount + 2048)
        checkStereoTones(buffer, source: source, amplitudeTolerance: 0.01, residual: 0.01, "vorbis.webm")
    }

    func testFiveOneIsDownmixedToStereoByTheStatedMatrix() throws {
        // FL 300 Hz, FC 500 Hz, LFE 60 Hz, BR 700 Hz, all at 0.6; FR and BL silent. Lossless FLAC in Matroska.
        let frames = 72000
        var samples = [Float](repeating: 0, count: frames * 6)
        for frame in 0..<frames {
            let time = Double(frame) / 48000
            for (channel, frequency) in [(0, 300.0), (2, 500), (3, 60), (5, 700)] {
                samples[frame * 6 + channel] = 0.6 * Float(sin(2 * Double.pi * frequency * time))
            }
        }
        let source = try AudioBuffer(sampleRate: 48000, channels: 6, samples: samples)
        let url = try encode(source, "surround.mkv", ["-c:a", "flac"])
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.channels, 2)
        XCTAssertEqual(buffer.frameCount, frames)
        // Left = (FL + 0.7071 FC + 0.7071 BL) / 2.4142, right = (FR + 0.7071 FC + 0.7071 BR) / 2.4142, no LFE.
        let full = 0.6 / (1 + 2 * 0.5.squareRoot())
        let half = full * 0.5.squareRoot()
        let expected: [(Int, Double, Double)] = [
            (0, 300, full), (0, 500, half), (0, 700, 0), (0, 60, 0),
            (1, 300, 0), (1, 500, half), (1, 700, half), (1, 60, 0),
        ]
        for (channel, frequency, amplitude) in expected {
            XCTAssertEqual(
                fit(buffer, channel: channel, frequency: frequency, frames: 0..<frames).amplitude,
                amplitude, accuracy: 0.001, "channel \(channel), \(frequency) Hz")
        }
        XCTAssertLessThanOrEqual(buffer.peak, 1)
    }

    func testAFileWithoutAudioGivesNil() throws {
        let url = directory.appendingPathComponent("silent.mp4")
        let writer = try VideoWriter(url: url, settings: VideoSettings(codec: .h264, frameRate: FrameRate(24)))
        for index in 0..<6 { try writer.append(frame: TestSupport.gradientFrame(index: index, width: 32, height: 32)) }
        try writer.finish()
        XCTAssertNotNil(try MediaInfo(probing: url).first("video"))
        XCTAssertNil(try AudioTrackReader.read(url))
    }

    func testAudioStartingAfterTheVideoIsPrecededBySilence() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 48000, seconds: 1.5)
        let url = try encode(
            source, "late.mov", h264 + ["-c:a", "pcm_s16le"],
            before: grayVideo + ["-itsoffset", "0.5"])
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.frameCount, 24000 + source.frameCount)
        XCTAssertEqual(buffer.samples[..<24000].map(abs).max(), 0)
        XCTAssertLessThanOrEqual(largestDifference(buffer.samples[24000...], source.samples[...]), 1.0 / 32768)
    }

    func testAudioStartingBeforeTheVideoLosesItsLead() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 48000, seconds: 1.5)
        let url = try encode(
            source, "early.mov", h264 + ["-fps_mode", "passthrough", "-c:a", "pcm_s16le"],
            before: ["-itsoffset", "0.3"] + grayVideo)
        let lead = Int((try startTime(of: url, stream: "v") * 48000).rounded())
        XCTAssertGreaterThan(lead, 10000)
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.frameCount, source.frameCount - lead)
        XCTAssertLessThanOrEqual(largestDifference(buffer.samples[...], source.samples[lead...]), 1.0 / 32768)
    }

    func testAStreamThatChangesItsRateMidwayIsResampledToItsFirstRate() throws {
        // Two ADTS AAC files of 440 Hz, at 48 kHz and then at 44.1 kHz, one after the other in one stream.
        let first = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 48000, seconds: 0.5, onset: 0)
        let second = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 44100, seconds: 0.5, onset: 0)
        let parts = try [(first, "first.aac"), (second, "second.aac")].map {
            try encode($0.0, $0.1, ["-c:a", "aac", "-b:a", "192k"])
        }
        let url = directory.appendingPathComponent("both.aac")
        try (Data(contentsOf: parts[0]) + Data(contentsOf: parts[1])).write(to: url)
        let buffer = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(buffer.sampleRate, 48000)
        XCTAssertEqual(buffer.channels, 1)
        // Raw ADTS marks no priming, so each part keeps its encoder's 1024 priming samples and up to 1024 samples of
        // padding in its last frame: up to 2048 more at 48 kHz, and 2048 × 48000 / 44100 more after resampling.
        XCTAssertGreaterThanOrEqual(buffer.frameCount, 48000)
        XCTAssertLessThanOrEqual(buffer.frameCount, 48000 + 2048 + 2048 * 48000 / 44100)
        // Left at 44.1 kHz, the second half would play 440 Hz as 479 Hz.
        for range in [2400..<21600, 31200..<45600] {
            let tone = fit(buffer, channel: 0, frequency: 440, frames: range)
            XCTAssertEqual(tone.amplitude, 0.5, accuracy: 0.01, "\(range)")
            XCTAssertLessThan(tone.residual, 0.005, "\(range)")
        }
    }

    func testAnAudioCodecThisFFmpegCannotDecodeIsAnErrorNamingTheFile() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 48000, seconds: 0.5)
        let url = try encode(source, "unknown.mkv", ["-c:a", "libopus"])
        var data = try Data(contentsOf: url)
        let range = try XCTUnwrap(data.range(of: Data("A_OPUS".utf8)))
        data.replaceSubrange(range, with: Data("A_OPUX".utf8))
        try data.write(to: url)
        XCTAssertThrowsError(try AudioTrackReader.read(url)) { error in
            guard case .unreadableFile(let path, let reason)? = error as? MediaError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(reason.contains("cannot decode"), reason)
        }
    }

    func testTruncatedFilesGiveAnErrorNamingTheFile() throws {
        let source = try stereoSource()
        let files = [
            try encode(source, "cut.mkv", ["-c:a", "libopus"]),
            try encode(source, "cut.mp4", ["-c:a", "aac"]),
            try encode(source, "cut-faststart.mp4", ["-c:a", "aac", "-movflags", "+faststart"]),
        ]
        for url in files {
            XCTAssertNotNil(try AudioTrackReader.read(url), url.lastPathComponent)
            let data = try Data(contentsOf: url)
            try data.prefix(data.count * 6 / 10).write(to: url)
            XCTAssertThrowsError(try AudioTrackReader.read(url), url.lastPathComponent) { error in
                guard case .unreadableFile(let path, _)? = error as? MediaError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertTrue(String(describing: error).contains(url.path), "\(error)")
            }
        }
    }

    func testGarbageAndMissingFilesGiveAnErrorNamingTheFile() throws {
        let garbage = directory.appendingPathComponent("garbage.mp4")
        try Data(repeating: 0x5A, count: 4096).write(to: garbage)
        let missing = directory.appendingPathComponent("missing.mkv")
        for url in [garbage, missing] {
            XCTAssertThrowsError(try AudioTrackReader.read(url)) { error in
                guard case .unreadableFile(let path, _)? = error as? MediaError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, url.path)
            }
        }
    }

    func testADirectoryIsRefusedByItsKind() throws {
        let folder = directory.appendingPathComponent("clip.mp4")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        XCTAssertThrowsError(try AudioTrackReader.read(folder)) { error in
            guard case .notARegularFile(let path, _)? = error as? MediaError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, folder.path)
        }
    }

    func testASampleRateOutsideTheBoundsIsRefused() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 4000, seconds: 0.5)
        let url = try encode(source, "slow.mov", ["-c:a", "pcm_s16le"])
        XCTAssertThrowsError(try AudioTrackReader.read(url)) { error in
            guard case .outOfRange(let what, let value, let allowed)? = error as? MediaError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(what.contains(url.path), what)
            XCTAssertEqual(value, "4000")
            XCTAssertEqual(allowed, "8000...384000 Hz")
        }
    }

    func testATrackLongerThanTheSampleLimitIsRefused() throws {
        let source = try gatedTones([Tone(frequency: 440, amplitude: 0.5)], sampleRate: 22050, seconds: 1.5)
        let url = try encode(source, "long.mov", ["-c:a", "pcm_s16le"])
        XCTAssertEqual(try AudioTrackReader.read(url, sampleLimit: source.samples.count)?.frameCount, source.frameCount)
        XCTAssertThrowsError(try AudioTrackReader.read(url, sampleLimit: source.samples.count - 1)) { error in
            guard case .outOfRange(let what, _, let allowed)? = error as? MediaError else { return XCTFail("\(error)") }
            XCTAssertTrue(what.contains(url.path), what)
            XCTAssertTrue(allowed.hasPrefix("0...\(source.samples.count - 1) interleaved samples"), allowed)
        }
    }

    func testDecodedAudioRoundTripsThroughVideoWriter() throws {
        let source = try stereoSource()
        let input = try encode(source, "in.mp4", h264 + ["-c:a", "aac", "-b:a", "192k"], before: grayVideo)
        let audio = try XCTUnwrap(AudioTrackReader.read(input))
        let url = directory.appendingPathComponent("out.mp4")
        let writer = try VideoWriter(
            url: url, settings: VideoSettings(codec: .h264, frameRate: FrameRate(24)),
            audio: audio)
        for index in 0..<36 { try writer.append(frame: TestSupport.gradientFrame(index: index, width: 64, height: 48)) }
        try writer.finish()
        let stream = try XCTUnwrap(MediaInfo(probing: url).first("audio"))
        XCTAssertEqual(stream.codecName, "aac")
        XCTAssertEqual(stream.sampleRate, 48000)
        XCTAssertEqual(stream.channels, 2)
        // 36 frames at 24 fps: 1.5 s, within one 1024-sample AAC frame.
        XCTAssertEqual(try XCTUnwrap(stream.duration), 1.5, accuracy: 1024.0 / 48000)
        let back = try XCTUnwrap(AudioTrackReader.read(url))
        XCTAssertEqual(back.frameCount, source.frameCount)
        checkStereoTones(back, source: source, amplitudeTolerance: 0.01, residual: 0.004, "out.mp4")
    }
}
