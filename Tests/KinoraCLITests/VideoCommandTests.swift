import Foundation
import KinoraFormats
import KinoraMedia
import KinoraTestSupport
import XCTest

/// `kinora video` run as a user would, on the tiny Wan diffusers folders of `Tests/Fixtures/wan-pipeline/` (made
/// by `scripts/fixtures/make_wan_pipeline_fixtures.py`): the lossless clip's frames are diffusers' `WanPipeline` /
/// `WanImageToVideoPipeline` frames to within 8-bit rounding, from the folder and from single files; bad requests
/// are one clear error before any work, with nothing written.
final class VideoCommandTests: XCTestCase {
    private let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func fixture(_ path: String) -> String { repository.appending(path: "Tests/Fixtures/\(path)").path }

    private static let prompt = "A small red fox runs through snowy woods at dawn, cinematic, &amp; soft light"
    private static let negative = "blurry, low quality, static"

    /// The fixtures' request: their prompts, 2 steps, guidance 5 (the default), seed 0 (the default), 9 frames.
    private var request: [String] {
        ["--prompt", Self.prompt, "--negative", Self.negative, "--frames", "9", "--steps", "2", "--codec", "ffv1"]
    }

    /// The frames of a lossless clip as RGB values / 255, frame-major.
    private func frames(_ clip: URL) throws -> [Float] {
        let raw = clip.deletingPathExtension().appendingPathExtension("rgb")
        try MediaTools.ffmpeg(["-i", clip.path, "-f", "rawvideo", "-pix_fmt", "rgb24", raw.path])
        return try Data(contentsOf: raw).map { Float($0) / 255 }
    }

    /// Every value within 8-bit rounding (half a level, and a hair for diffusers' float error) of `expected`.
    private func assertRounded(
        _ values: [Float], _ expected: [Float], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(values.count, expected.count, file: file, line: line)
        let worst = zip(values, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst * 255, 0.51, file: file, line: line)
    }

    private func assertFails(
        _ outcome: KinoraCommand.Outcome, saying message: String, outputFolder: URL,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        try MediaTools.assertFails(
            outcome, saying: message, outputFolder: outputFolder, before: "denoising", file: file, line: line)
    }

    func testTextToVideoFromADiffusersFolderIsDiffusersVideoWithItsSettingsInTheFile() throws {
        let out = try MediaTools.folder(self, "video")
        let clip = out.appending(path: "fox.mkv")
        let outcome = try KinoraCommand.run(
            ["video", "--model", fixture("wan-pipeline/t2v"), "--size", "48x32"] + request + ["-o", clip.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.error.contains("denoising"), outcome.error)
        XCTAssertTrue(outcome.error.contains("plan: peak"), outcome.error)
        XCTAssertTrue(outcome.error.contains("wrote \(clip.path) (9 frames, 48x32, 16 fps, seed 0)"), outcome.error)
        XCTAssertEqual(try MediaTools.probe(clip), "48,32,9")
        let expected = try SafetensorsFile(url: URL(filePath: fixture("wan-pipeline/expected.safetensors")))
        assertRounded(try frames(clip), try expected.floats("video"))
        // ffprobe's CSV doubles the JSON's quotes.
        let comment = try MediaTools.probe(clip, entries: "format_tags=comment")
            .replacingOccurrences(of: "\"\"", with: "\"")
        for field in [#""seed":"0""#, #""steps":"2""#, #""sampler":"unipc""#, #""shift":"3.0""#, #""frames":"9""#] {
            XCTAssertTrue(comment.contains(field), comment)
        }
    }

    func testSingleFilesWithTheFoldersConfigurationMakeTheSameVideo() throws {
        let out = try MediaTools.folder(self, "video")
        let clip = out.appending(path: "single.mkv")
        let outcome = try KinoraCommand.run(
            [
                "video", "--model", fixture("wan-pipeline/t2v/transformer/diffusion_pytorch_model.safetensors"),
                "--config", fixture("wan-pipeline/t2v"),
                "--vae", fixture("wan-vae/wan21/diffusion_pytorch_model.safetensors"),
                "--text-encoder", fixture("wan-pipeline/t2v/text_encoder/model.safetensors"),
                "--tokenizer", fixture("wan-pipeline/t2v/tokenizer/spiece.model"), "--size", "48x32",
            ] + request + ["-o", clip.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let expected = try SafetensorsFile(url: URL(filePath: fixture("wan-pipeline/expected.safetensors")))
        assertRounded(try frames(clip), try expected.floats("video"))
    }

    func testImageToVideoStartsFromTheKeyframeAtItsSize() throws {
        let work = try MediaTools.folder(self, "video")
        let out = try MediaTools.folder(self, "video")
        let ti2v = try SafetensorsFile(url: URL(filePath: fixture("wan-pipeline/ti2v.safetensors")))
        let keyframe = work.appending(path: "keyframe.png")
        let pixels = try ti2v.floats("image").map { UInt8(($0 * 255).rounded()) }
        try StillImageWriter.write(VideoFrame(width: 64, height: 32, rgb8: pixels), to: keyframe)
        let clip = out.appending(path: "moving.mkv")
        let outcome = try KinoraCommand.run(
            ["video", "--model", fixture("wan-pipeline/ti2v"), "--image", keyframe.path] + request
                + ["-o", clip.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.error.contains("(9 frames, 64x32, 24 fps, seed 0)"), outcome.error)
        assertRounded(try frames(clip), try ti2v.floats("video"))
    }

    func testAnAutoregressiveStreamIsWrittenChunkByChunkInWholeChunks() throws {
        let out = try MediaTools.folder(self, "video")
        let clip = out.appending(path: "stream.mkv")
        let outcome = try KinoraCommand.run([
            "video", "--autoregressive", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox in the snow",
            "--size", "48x32", "--seconds", "1.2", "--prompt-at", "0.5:an owl in the night", "--codec", "ffv1",
            "--preview", out.appending(path: "live.mp4").path, "-o", clip.path,
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        // 1.2 s at 16 fps is 19 frames, 6 latent frames (5 hold 17); whole chunks of 3 make 6: 21 frames.
        XCTAssertTrue(outcome.error.contains("19 frames asked; the stream makes whole chunks of 3 latent frames: 21 "
            + "frames"), outcome.error)
        for line in [
            "chunk 1/2: frames 0-8", "prompt from frame 9 (0.56 s): an owl in the night", "chunk 2/2: frames 9-20",
            "first frame after",
        ] {
            XCTAssertTrue(outcome.error.contains(line), outcome.error)
        }
        XCTAssertEqual(try MediaTools.probe(clip), "48,32,21")
        XCTAssertEqual(try MediaTools.probe(out.appending(path: "live.mp4")), "48,32,21")

        // Past the 21 latent frames the models were trained on (and the tiny model's 32 rotary positions): 40 latent
        // frames, 157 frames, in the rolling window a longer stream gets.
        let long = out.appending(path: "long.mp4")
        let windowed = try KinoraCommand.run([
            "video", "--autoregressive", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox in the snow",
            "--size", "48x32", "--frames", "157", "--chunk-frames", "4", "--schedule", "causvid", "-o", long.path,
        ])
        XCTAssertEqual(windowed.status, 0, windowed.error)
        XCTAssertTrue(
            windowed.error.contains("a rolling window of 21 latent frames with a sink of 4 (--window, --sink)"),
            windowed.error)
        XCTAssertTrue(windowed.error.contains("plan: peak"), windowed.error)
        XCTAssertEqual(try MediaTools.probe(long), "48,32,157")

        // From a keyframe: its latent is frame 0, then whole chunks: 1 + 3 · 3 latent frames, 37 frames.
        let keyframe = out.appending(path: "keyframe.png")
        try MediaTools.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x32", "-frames:v", "1", keyframe.path])
        let started = out.appending(path: "started.mp4")
        let fromPicture = try KinoraCommand.run([
            "video", "--autoregressive", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox in the snow",
            "--image", keyframe.path, "--frames", "33", "-o", started.path,
        ])
        XCTAssertEqual(fromPicture.status, 0, fromPicture.error)
        XCTAssertTrue(fromPicture.error.contains("keyframe: frames 0-0"), fromPicture.error)
        XCTAssertEqual(try MediaTools.probe(started), "64,32,37")
        let comment = try MediaTools.probe(clip, entries: "format_tags=comment")
        XCTAssertTrue(comment.contains("autoregressive"), comment)

        let t2v = ["video", "--autoregressive", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox"]
        let cases: [([String], String)] = [
            (t2v + ["--size", "48x32", "--window", "22"], "longer than the 21 latent frames the autoregressive Wan"),
            (
                t2v + ["--size", "48x32", "--vram", "10MB"],
                "(at its text encoding stage) but the budget is 10.00 MiB"
            ),
            (t2v + ["--size", "48x32", "--window", "3"], "--window 3 must be longer than a chunk"),
            (t2v + ["--size", "48x32", "--seconds", "1", "--prompt-at", "5:late"], "is past the video's end"),
            (t2v + ["--size", "48x32", "--image", keyframe.path], "--image is 64x32 but the video is 48x32"),
            (["video", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox", "--seconds", "2"],
             "--seconds applies with --autoregressive"),
        ]
        let empty = try MediaTools.folder(self, "video")
        for (arguments, message) in cases {
            try assertFails(
                try KinoraCommand.run(arguments + ["-o", empty.appending(path: "x.mp4").path]), saying: message,
                outputFolder: empty)
        }
    }

    func testBadRequestsAreOneClearErrorBeforeAnyWorkWithNothingWritten() throws {
        let work = try MediaTools.folder(self, "video")
        let out = try MediaTools.folder(self, "video")
        let square = work.appending(path: "square.png")
        try MediaTools.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=32x32", "-frames:v", "1", square.path])
        let rgba = work.appending(path: "alpha.png")
        try MediaTools.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=64x32", "-frames:v", "1", "-pix_fmt", "rgba", rgba.path,
        ])
        let t2v = ["video", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox", "--steps", "2"]
        let ti2v = ["video", "--model", fixture("wan-pipeline/ti2v"), "--prompt", "a fox", "--steps", "2"]
        let clip = out.appending(path: "clip.mp4").path
        let cases: [([String], String)] = [
            (t2v + ["--frames", "10", "--size", "48x32"], "10 frames is not of the form 4k + 1 (for example 9 or 13)"),
            (t2v + ["--frames", "9", "--size", "50x32"], "size 50x32 is not a positive multiple of 16"),
            (t2v + ["--frames", "9", "--size", "48x32", "--image", square.path], "this model takes no keyframe"),
            (ti2v + ["--frames", "9", "--size", "64x32", "--image", square.path], "another aspect ratio"),
            (ti2v + ["--frames", "9", "--image", rgba.path], "has an alpha channel (pixel format rgba)"),
            (t2v + ["--size", "48x32", "--fps", "0"], "invalid frame rate '0'"),
            (
                t2v + ["--size", "320x256", "--frames", "9", "--vram", "30MB"],
                "needs about 38.30 MiB of device memory (at its decode stage) but the budget is 30.00 MiB"
            ),
            (t2v + ["--size", "48x32", "--frames", "400001"], "--frames must be 1...2001, got 400001"),
            (t2v + ["--size", "100000x64"], "--size sides must be 1...4096 pixels, got 100000x64"),
            (t2v + ["--size", "48x32", "--fps", "5000"], "--fps"),
            (t2v + ["--size", "48x32", "--codec", "mpeg1"], "mpeg1"),
            (
                ["video", "--model", fixture("wan-pipeline/t2v/transformer/diffusion_pytorch_model.safetensors"),
                 "--prompt", "a fox"], "give the other parts with --vae, --text-encoder, --tokenizer"
            ),
            (
                ["video", "--model", fixture("pipeline/sd/unet/diffusion_pytorch_model.safetensors"), "--vae",
                 fixture("wan-vae/wan21/diffusion_pytorch_model.safetensors"), "--text-encoder",
                 fixture("wan-pipeline/t2v/text_encoder/model.safetensors"), "--config", fixture("wan-pipeline/t2v"),
                 "--prompt", "a fox"], "no Wan transformer in it"
            ),
            (
                ["video", "--model", fixture("wan-pipeline/t2v/transformer/diffusion_pytorch_model.safetensors"),
                 "--config", fixture("wan-pipeline/t2v"),
                 "--vae", fixture("wan-vae/wan21/diffusion_pytorch_model.safetensors"),
                 "--text-encoder", fixture("pipeline/sd/text_encoder/model.safetensors"), "--prompt", "a fox"],
                "no UMT5 encoder in it"
            ),
            (["video", "--model", fixture("pipeline/sd"), "--prompt", "a fox"], "names StableDiffusionPipeline"),
            (["video", "--model", "no-such-model", "--prompt", "a fox"], "--model no-such-model does not exist"),
            (t2v + ["--lora", "no-such-lora.safetensors:0.8"], "--lora no-such-lora.safetensors does not exist"),
            (
                t2v + ["--size", "48x32", "--frames", "9", "--lora", fixture("wan-pipeline/t2v/model_index.json")],
                "model_index.json"
            ),
        ]
        for (arguments, message) in cases {
            try assertFails(try KinoraCommand.run(arguments + ["-o", clip]), saying: message, outputFolder: out)
        }
        try assertFails(
            try KinoraCommand.run(t2v + ["-o", out.appending(path: "missing/clip.mp4").path]),
            saying: "cannot write into directory", outputFolder: out)
    }
}
