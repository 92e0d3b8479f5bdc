import Foundation
import XCTest

@testable import KinoraMedia

final class MuxerTests: XCTestCase {
    func testSubtitlesAndShortAudioAreMuxedInMP4AndMKV() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cues = [try SubtitleCue(start: 0.1, end: 0.5, text: "Hello"),
                    try SubtitleCue(start: 0.6, end: 0.9, text: "Second\nline")]
        // 0.3 s of audio under a 1 s video: padded with silence to the video's length.
        let tone = try TestSupport.sine(frequency: 440, amplitude: 0.3, seconds: 0.3, sampleRate: 44100, channels: 2)
        // mov_text also stores the gaps before and between cues as empty samples: 4 packets for 2 cues.
        for (name, subtitleCodec, packets, audioCodec) in [("s.mp4", "mov_text", 4, "aac"),
                                                           ("s.mkv", "subrip", 2, "opus")] {
            let url = directory.appendingPathComponent(name)
            let writer = try VideoWriter(url: url, settings: VideoSettings(frameRate: try FrameRate(10)), audio: tone,
                                         subtitles: cues)
            for index in 0..<10 {
                try writer.append(frame: TestSupport.gradientFrame(index: index, width: 32, height: 32))
            }
            try writer.finish()
            let info = try MediaInfo(probing: url)
            XCTAssertEqual(info.first("subtitle")?.codecName, subtitleCodec, name)
            XCTAssertEqual(info.first("subtitle")?.packetCount, packets, name)
            let audio = try XCTUnwrap(info.first("audio"))
            XCTAssertEqual(audio.codecName, audioCodec, name)
            XCTAssertEqual(info.duration, 1.0, accuracy: 0.05, name)
        }
    }

    func testAudioPulledFromAFileMuxesTheSameAsTheBuffer() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // 44.1 kHz, so the muxer resamples it for AAC and Opus as it pulls; longer than the video, so it is cut.
        let tone = try TestSupport.sine(frequency: 523, amplitude: 0.3, seconds: 1.7, sampleRate: 44100, channels: 2)
        let wav = directory.appendingPathComponent("mix.wav")
        try AudioFile.write(tone, to: wav, format: .wavFloat)
        for name in ["a.mp4", "a.webm"] {
            var decoded: [AudioBuffer] = []
            let sources: [AudioSource] = [AudioBufferSource(tone), try AudioFileReader(url: wav)]
            for (index, source) in sources.enumerated() {
                let url = directory.appendingPathComponent("\(index)-\(name)")
                let settings = VideoSettings(codec: name.hasSuffix("webm") ? .av1 : .h264, frameRate: try FrameRate(10),
                                             preset: name.hasSuffix("webm") ? "13" : nil)
                let writer = try VideoWriter(url: url, settings: settings, audioSource: source)
                for frame in 0..<12 {
                    try writer.append(frame: TestSupport.gradientFrame(index: frame, width: 64, height: 64))
                }
                try writer.finish()
                decoded.append(try XCTUnwrap(AudioTrackReader.read(url)))
            }
            XCTAssertEqual(decoded[0].duration, 1.2, accuracy: 0.03, name)
            XCTAssertEqual(decoded[1], decoded[0], name)
        }
    }
}
