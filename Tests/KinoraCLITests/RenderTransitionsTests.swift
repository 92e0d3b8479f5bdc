import Foundation
import KinoraTestSupport
import XCTest

/// `kinora render` of the tiny workflow (Tests/Fixtures/workflow) with a third shot, a crossfade and a fade through
/// black between its shots, and its voice line as soft subtitles: what the file holds, and what an edit re-runs.
final class RenderTransitionsTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The tiny workflow (two shots of 0.5 s at 8 fps: 4 frames each) with a third shot `c` like them, `b` coming in
    /// by `intoB` and `c` by `intoC` (transition lines, or empty for cuts), and `subtitles` in its output.
    private static func workflow(intoB: String, intoC: String, subtitles: String) throws -> String {
        let text = try String(contentsOf: repository.appending(path: "Tests/Fixtures/workflow/tiny.yaml"),
                              encoding: .utf8)
        let c = """
              - id: c
                prompt: a yellow field
                seed: 3
                duration: 0.5
                camera: none
                \(intoC)
                final: {model: tiny, steps: 1, cfg: 1}

            """
        return text.replacingOccurrences(of: "  loudness: -16 LUFS\n",
                                         with: "  loudness: -16 LUFS\n  subtitles: \(subtitles)\n")
            .replacingOccurrences(of: "    seed: 2\n", with: "    seed: 2\n    \(intoB)\n")
            .replacingOccurrences(of: "\nvoices:", with: c + "\nvoices:")
    }

    /// Every frame of `video`'s first video stream, decoded to 8-bit RGB.
    private func frames(_ video: URL, in folder: URL, width: Int, height: Int) throws -> [[UInt8]] {
        let raw = folder.appending(path: "\(video.lastPathComponent).rgb")
        try MediaTools.ffmpeg(["-i", video.path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", raw.path])
        let bytes = [UInt8](try Data(contentsOf: raw))
        let size = width * height * 3
        return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
    }

    /// The mean absolute difference of two pictures' values.
    private func distance(_ a: [UInt8], _ b: [UInt8]) -> Double {
        zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(max(a.count, 1))
    }

    func testACrossfadeBlendsAFadeGoesThroughBlackAndTheVoiceLineIsASoftSubtitle() throws {
        _ = try InstalledPiperVoice.url()
        let folder = try MediaTools.folder(self, "transitions")
        try FileManager.default.createDirectory(at: folder.appending(path: "music"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.repository.appending(path: "examples/music/pad.ogg"),
                                         to: folder.appending(path: "music/pad.ogg"))
        let (workflow, cache) = (folder.appending(path: "tiny.yaml"), folder.appending(path: "cache"))
        let output = folder.appending(path: "tiny.mp4")
        func render(_ text: String) throws {
            try Data(text.utf8).write(to: workflow)
            let outcome = try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path,
                                                 "--progress", "none"])
            XCTAssertEqual(outcome.status, 0, outcome.error)
        }

        // Cuts first: 12 frames, a's, b's and c's four each, as the transitions' references.
        try render(try Self.workflow(intoB: "", intoC: "", subtitles: "off"))
        let plain = try frames(output, in: folder, width: 64, height: 64)
        XCTAssertEqual(plain.count, 12)
        XCTAssertEqual(try MediaTools.probe(output, stream: "s", entries: "stream=codec_name"), "", "no subtitles")

        // b crossfades in over 2 frames (0.25 s: the cut is 2 frames shorter), c fades in through black over 3.
        try render(try Self.workflow(intoB: "transition: {crossfade: 0.25}", intoC: "transition: {fade: 0.375}",
                                     subtitles: "soft"))
        XCTAssertEqual(try ranStages(output), ["video/encode", "audio/mix", "output/mux"], "no shot renders again")
        XCTAssertEqual(try MediaTools.probe(output), "64,64,10")
        let duration = try XCTUnwrap(Double(try MediaTools.probe(output, stream: "a:0", entries: "stream=duration")))
        XCTAssertEqual(duration, 1.25, accuracy: 0.03, "the audio lasts the shortened cut")
        let cut = try frames(output, in: folder, width: 64, height: 64)
        XCTAssertEqual(cut.count, 10)
        XCTAssertLessThan(distance(cut[0], plain[0]), 6, "a plays as it was")
        // Frame 3 is a's last frame at a quarter and b's second at three quarters.
        let blend = zip(plain[3], plain[5]).map { UInt8((Double($0) * 0.25 + Double($1) * 0.75).rounded()) }
        let (fromBlend, fromA, fromB) = (distance(cut[3], blend), distance(cut[3], plain[3]),
                                         distance(cut[3], plain[5]))
        // H.264 at its default quality moves a 64x64 frame's values by about 3 on average (a blend measured 3.6
        // from the computed blend, 44 from a's frame and 15 from b's).
        XCTAssertLessThan(fromBlend, 6, "a blend of a and b")
        XCTAssertGreaterThan(fromA, fromBlend * 2, "not a's frame")
        XCTAssertGreaterThan(fromB, fromBlend * 2, "not b's frame")
        // b's last frame darkens to 2/3, c's first is black, its second at 2/3, then c plays on.
        let black = cut[6].reduce(0) { $0 + Int($1) }
        XCTAssertLessThan(Double(black) / Double(cut[6].count), 2, "the fade's middle frame is black")
        XCTAssertLessThan(distance(cut[9], plain[11]), 6)

        // The voice line is one mov_text cue (the packets of no text are the gaps mov_text stores around it).
        XCTAssertEqual(try MediaTools.probe(output, stream: "s", entries: "stream=codec_name"), "mov_text")
        let sizes = try MediaTools.probe(output, stream: "s", entries: "packet=size")
        XCTAssertEqual(sizes.split(separator: "\n").filter { (Int($0) ?? 0) > 2 }.count, 1, sizes)
        let srt = folder.appending(path: "cues.srt")
        try MediaTools.ffmpeg(["-i", output.path, "-map", "0:s:0", srt.path])
        let cues = try String(contentsOf: srt, encoding: .utf8)
        XCTAssertTrue(cues.contains("00:00:00,100 --> "), cues)
        XCTAssertTrue(cues.contains("Hello."), cues)

        // Subtitles off again re-muxes only.
        try render(try Self.workflow(intoB: "transition: {crossfade: 0.25}", intoC: "transition: {fade: 0.375}",
                                     subtitles: "off"))
        XCTAssertEqual(try ranStages(output), ["output/mux"])
        XCTAssertEqual(try MediaTools.probe(output, stream: "s", entries: "stream=codec_name"), "")
    }
}
