import Foundation
import KinoraFormats
import KinoraMedia
import KinoraTestSupport
import XCTest

/// `kinora music --precision`: the tiny Stable Audio and MusicGen folders (f32 weights) run every model with 16-bit
/// activations, say so before any work, and Stable Audio's cue stays near diffusers' f32 audio; without the option
/// each model runs its weights' type; an unknown value is refused.
final class MusicCommandPrecisionTests: XCTestCase {
    private static let fixtures = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Tests/Fixtures")

    func testStableAudioRunsInThePrecisionAsked() throws {
        let out = try MediaTools.folder(self, "music-precision")
        let model = Self.fixtures.appending(path: "stable-audio")
        let reference = try SafetensorsFile(url: model.appending(path: "expected.safetensors")).floats("cfg.audio")
        for (precision, line) in [
            (nil, "activations: T5 f32, projection f32, DiT f32, VAE f32"),
            ("fp16", "activations: T5 f16, projection f16, DiT f16, VAE f16"),
        ] {
            let cue = out.appending(path: "\(precision ?? "auto").wav")
            let outcome = try KinoraCommand.run([
                "music", "--model", model.path, "--prompt", "a red fox in the snow", "--seconds", "1.5", "--start",
                "0.25", "--steps", "4", "--cfg", "3", "--seed", "7", "-o", cue.path,
            ] + (precision.map { ["--precision", $0] } ?? []))
            XCTAssertEqual(outcome.status, 0, outcome.error)
            XCTAssertTrue(outcome.error.contains(line), outcome.error)
            // diffusers' f32 cue (the `cfg` case), clipped to ±1 as the 24-bit file holds it, within the f32 and the
            // f16 pipeline's bounds (`StableAudioPipelineTests`, `StableAudioHalfPrecisionTests`).
            let written = try AudioFile.read(cue)
            XCTAssertEqual([written.channels, written.frameCount], [2, 24])
            var (difference, norm) = (0.0, 0.0)
            for channel in 0..<2 {
                for frame in 0..<24 {
                    let expected = Double(min(max(reference[channel * 24 + frame], -1), 1))
                    difference += pow(Double(written[frame, channel]) - expected, 2)
                    norm += expected * expected
                }
            }
            let error = (difference / norm).squareRoot()
            XCTAssertLessThanOrEqual(error, precision == nil ? 1e-4 : 5e-2, precision ?? "auto")
            print("kinora music --precision \(precision ?? "(none)") vs diffusers fp32: relative L2 \(error)")
        }
    }

    func testMusicGenRunsInThePrecisionAskedAndAnUnknownOneIsRefused() throws {
        let out = try MediaTools.folder(self, "music-precision")
        let model = Self.fixtures.appending(path: "musicgen").path
        let cue = out.appending(path: "bf16.wav")
        let outcome = try KinoraCommand.run([
            "music", "--model", model, "--prompt", "a red fox in the snow", "--seconds", "0.25", "--greedy",
            "--precision", "bf16", "-o", cue.path,
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.error.contains("activations: T5 bf16, decoder bf16, EnCodec bf16"), outcome.error)
        XCTAssertEqual(
            try MediaTools.probe(cue, stream: "a:0", entries: "stream=sample_rate,channels,duration_ts"), "800,1,200")

        let refused = try MediaTools.folder(self, "music-precision-refused")
        try MediaTools.assertFails(
            try KinoraCommand.run([
                "music", "--model", model, "--prompt", "x", "--seconds", "1", "--precision", "fp8", "-o",
                refused.appending(path: "never.wav").path,
            ]), saying: "fp8", outputFolder: refused)
    }
}
