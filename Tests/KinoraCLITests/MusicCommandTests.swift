import Foundation
import KinoraTestSupport
import XCTest

/// `kinora music` on the tiny random-weight Stable Audio folder (`Tests/Fixtures/stable-audio`): a span of the
/// model's window written as a stereo WAV at its rate; bad requests are one clear error before any work, with
/// nothing written.
final class MusicCommandTests: XCTestCase {
    private static let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    private var model: String { Self.repository.appending(path: "Tests/Fixtures/stable-audio").path }

    func testAPromptBecomesAStereoFileOfTheAskedSpan() throws {
        let out = try MediaTools.folder(self, "music")
        let cue = out.appending(path: "cue.wav")
        let outcome = try KinoraCommand.run([
            "music", "--model", model, "--prompt", "a red fox in the snow", "--seconds", "1.5", "--start", "0.25",
            "--steps", "4", "--cfg", "3", "--seed", "7", "-o", cue.path,
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.output.contains("1.50 s of 2-channel audio at 16 Hz, 4 steps"), outcome.output)
        XCTAssertEqual(
            try MediaTools.probe(cue, stream: "a:0", entries: "stream=sample_rate,channels,duration_ts"), "16,2,24")
    }

    func testBadRequestsAreOneClearErrorWithNothingWritten() throws {
        let out = try MediaTools.folder(self, "music")
        let cue = out.appending(path: "cue.wav").path
        let base = ["music", "--model", model, "--prompt", "a fox", "--steps", "2"]
        let cases: [([String], String)] = [
            (base + ["--seconds", "5"], "5.00 s of audio asked; this model makes at most 2.00 s"),
            (base + ["--seconds=-1"], "--seconds must be a positive number"),
            (base + ["--steps", "0"], "--steps must be 1...1000"),
            (["music", "--model", "/nonexistent", "--prompt", "x"], "is not a diffusers folder"),
            (base + ["--seconds", "1", "-o", out.appending(path: "cue.xyz").path], "xyz"),
        ]
        for (arguments, message) in cases {
            let full = arguments.contains("-o") ? arguments : arguments + ["-o", cue]
            try MediaTools.assertFails(try KinoraCommand.run(full), saying: message, outputFolder: out)
        }
    }

    /// A stable-audio-tools checkpoint with its T5 and tokenizer: the tiny Stable Audio Open Small picks the ping-pong
    /// sampler and its 8 steps without guidance by itself.
    func testACheckpointFileRunsWithItsT5AndTokenizer() throws {
        let out = try MediaTools.folder(self, "music")
        let cue = out.appending(path: "small.wav")
        let fixtures = Self.repository.appending(path: "Tests/Fixtures")
        let outcome = try KinoraCommand.run([
            "music", "--model", fixtures.appending(path: "stable-audio-small/model.safetensors").path,
            "--t5", fixtures.appending(path: "stable-audio/text_encoder/model.safetensors").path,
            "--tokenizer", fixtures.appending(path: "stable-audio/tokenizer").path,
            "--vae", fixtures.appending(path: "stable-audio-single/model.safetensors").path,
            "--prompt", "a red fox in the snow", "--seconds", "1.5", "--seed", "7", "-o", cue.path,
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.output.contains("1.50 s of 2-channel audio at 16 Hz, 8 steps"), outcome.output)
    }

    func testACheckpointFileWithoutItsPartsOrTooLongIsRefusedBeforeAnyWork() throws {
        let out = try MediaTools.folder(self, "music")
        let cue = out.appending(path: "cue.wav").path
        let fixtures = Self.repository.appending(path: "Tests/Fixtures")
        let small = fixtures.appending(path: "stable-audio-small/model.safetensors").path
        let parts = [
            "--t5", fixtures.appending(path: "stable-audio/text_encoder/model.safetensors").path,
            "--tokenizer", fixtures.appending(path: "stable-audio/tokenizer").path,
            "--vae", fixtures.appending(path: "stable-audio-single/model.safetensors").path,
        ]
        let other = fixtures.appending(path: "stable-audio/vae/diffusion_pytorch_model.safetensors").path
        let cases: [([String], String)] = [
            (["music", "--model", small, "--prompt", "x"], "holds no T5: give --t5"),
            (["music", "--model", small, "--prompt", "x", "--t5", parts[1]], "holds no tokenizer"),
            (
                ["music", "--model", small, "--prompt", "x", "--seconds", "3"] + parts,
                "3.00 s of audio asked; this model makes at most 2.00 s"
            ),
            (["music", "--model", other, "--prompt", "x"] + parts, "not a Stable Audio checkpoint"),
        ]
        for (arguments, message) in cases {
            try MediaTools.assertFails(
                try KinoraCommand.run(arguments + ["-o", cue]), saying: message, outputFolder: out)
        }
    }
}
