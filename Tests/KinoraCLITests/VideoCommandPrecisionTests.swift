import Foundation
import KinoraFormats
import KinoraMedia
import KinoraTestSupport
import XCTest

/// `kinora video --precision`: a clip and an autoregressive stream of the tiny Wan 2.1 (`Tests/Fixtures/wan-pipeline/
/// t2v`, f32 weights) run with f16 activations, say so, and stay near diffusers' f32 frames; the stream's KV cache
/// follows the activations unless `--kv-cache` says otherwise.
final class VideoCommandPrecisionTests: XCTestCase {
    private let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func fixture(_ path: String) -> String { repository.appending(path: "Tests/Fixtures/\(path)").path }

    func testAClipAndAStreamRunWithHalfActivations() throws {
        let out = try MediaTools.folder(self, "video-precision")
        let clip = out.appending(path: "fox.mkv")
        let outcome = try KinoraCommand.run([
            "video", "--model", fixture("wan-pipeline/t2v"), "--size", "48x32", "--prompt",
            "A small red fox runs through snowy woods at dawn, cinematic, &amp; soft light", "--negative",
            "blurry, low quality, static", "--frames", "9", "--steps", "2", "--codec", "ffv1", "--precision", "fp16",
            "-o", clip.path,
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.error.contains("f16 activations"), outcome.error)
        // Diffusers' f32 frames within a few 8-bit levels: f16 activations round each stored value to 2⁻¹¹, which
        // moves a pixel by well under one level on average.
        let raw = out.appending(path: "fox.rgb")
        try MediaTools.ffmpeg(["-i", clip.path, "-f", "rawvideo", "-pix_fmt", "rgb24", raw.path])
        let frames = try Data(contentsOf: raw).map { Float($0) / 255 }
        let expected = try SafetensorsFile(url: URL(filePath: fixture("wan-pipeline/expected.safetensors")))
            .floats("video")
        XCTAssertEqual(frames.count, expected.count)
        let mean = zip(frames, expected).map { abs($0 - $1) }.reduce(0, +) / Float(frames.count) * 255
        XCTAssertLessThanOrEqual(mean, 2, "mean difference in 8-bit levels")
        print("kinora video --precision fp16 vs diffusers fp32: mean |difference| \(mean) levels")

        let stream = out.appending(path: "stream.mkv")
        let streamed = try KinoraCommand.run([
            "video", "--autoregressive", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox in the snow",
            "--size", "48x32", "--frames", "9", "--codec", "ffv1", "--precision", "bf16", "-o", stream.path,
        ])
        XCTAssertEqual(streamed.status, 0, streamed.error)
        XCTAssertTrue(streamed.error.contains("bf16 activations, bf16 KV cache"), streamed.error)
        // The file says which cache made it (ffprobe's CSV doubles the JSON's quotes).
        let comment = try MediaTools.probe(stream, entries: "format_tags=comment")
        let kvCache = try XCTUnwrap(comment.range(of: "kv_cache"), comment)
        XCTAssertTrue(comment[kvCache.upperBound...].prefix(12).contains("bf16"), comment)
        let explicit = try KinoraCommand.run([
            "video", "--autoregressive", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox in the snow",
            "--size", "48x32", "--frames", "9", "--codec", "ffv1", "--precision", "fp16", "--kv-cache", "f32",
            "-o", out.appending(path: "explicit.mkv").path,
        ])
        XCTAssertEqual(explicit.status, 0, explicit.error)
        XCTAssertTrue(explicit.error.contains("f16 activations, f32 KV cache"), explicit.error)

        let refused = try KinoraCommand.run([
            "video", "--model", fixture("wan-pipeline/t2v"), "--prompt", "a fox", "--precision", "fp8",
            "-o", out.appending(path: "never.mkv").path,
        ])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("fp8"), refused.error)
    }
}
