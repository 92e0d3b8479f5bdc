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
            for index in 0..<10 { try writer.append(frame: TestSupport.gradientFrame(index: index, width: 32, height: 32)) }
            try writer.finish()
            let info = try MediaInfo(probing: url)
            XCTAssertEqual(info.first("subtitle")?.codecName, subtitleCodec, name)
            XCTAssertEqual(info.first("subtitle")?.packetCount, packets, name)
            let audio = try XCTUnwrap(info.first("audio"))
            XCTAssertEqual(audio.codecName, audioCodec, name)
            XCTAssertEqual(info.duration, 1.0, accuracy: 0.05, name)
        }
    }
}
