import Foundation
import KinoraFormats
import KinoraMedia
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

    /// --init-audio: the fixture's mono initial waveform as a 16 Hz float WAV gives diffusers' audio-to-audio cue of it
    /// (`init_mono` in expected.safetensors; the 24-bit file clips it to ±1).
    func testAnInitialAudioFileStartsTheCueAsDiffusersDoes() throws {
        let inputs = try MediaTools.folder(self, "music-input")
        let out = try MediaTools.folder(self, "music")
        let expected = try SafetensorsFile(url: URL(fileURLWithPath: model).appending(path: "expected.safetensors"))
        let sound = inputs.appending(path: "sound.wav")
        try AudioFile.write(
            AudioBuffer(sampleRate: 16, channels: 1, samples: try expected.floats("init_mono.waveform")), to: sound,
            format: .wavFloat)
        let cue = out.appending(path: "cue.wav")
        let outcome = try KinoraCommand.run([
            "music", "--model", model, "--prompt", "a red fox in the snow", "--init-audio", sound.path, "--steps", "3",
            "--cfg", "1", "--seed", "9", "-o", cue.path,
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.output.contains("2.00 s of 2-channel audio at 16 Hz, 3 steps"), outcome.output)
        let written = try AudioFile.read(cue)
        let reference = try expected.floats("init_mono.audio")
        XCTAssertEqual([written.channels, written.frameCount], [2, 32])
        var largest: Float = 0
        for channel in 0..<2 {
            for frame in 0..<32 {
                let clipped = min(max(reference[channel * 32 + frame], -1), 1)
                largest = max(largest, abs(written[frame, channel] - clipped))
            }
        }
        XCTAssertLessThanOrEqual(largest, 1e-4)
    }

    /// A missing or unreadable --init-audio, one for MusicGen, or one for a ping-pong model: one clear error before
    /// any work, nothing written.
    func testABadInitialAudioIsRefusedBeforeAnyWork() throws {
        let inputs = try MediaTools.folder(self, "music-input")
        let out = try MediaTools.folder(self, "music")
        let cue = out.appending(path: "cue.wav").path
        let sound = inputs.appending(path: "sound.wav")
        try AudioFile.write(AudioBuffer(sampleRate: 16, channels: 2, samples: [0.1, 0.2, 0.3, 0.4]), to: sound)
        let text = inputs.appending(path: "notes.wav")
        try Data("not audio".utf8).write(to: text)
        let fixtures = Self.repository.appending(path: "Tests/Fixtures")
        let base = ["music", "--model", model, "--prompt", "a fox", "--steps", "2"]
        let cases: [([String], String)] = [
            (base + ["--init-audio", "/nonexistent.wav"], "--init-audio /nonexistent.wav does not exist"),
            (base + ["--init-audio", text.path], "is not an audio file Kinora reads"),
            (
                [
                    "music", "--model", fixtures.appending(path: "musicgen").path, "--prompt", "x", "--seconds", "1",
                    "--init-audio", sound.path,
                ], "as is --init-audio"
            ),
            (
                [
                    "music", "--model", fixtures.appending(path: "stable-audio-small/model.safetensors").path,
                    "--t5", fixtures.appending(path: "stable-audio/text_encoder/model.safetensors").path,
                    "--tokenizer", fixtures.appending(path: "stable-audio/tokenizer").path,
                    "--vae", fixtures.appending(path: "stable-audio-single/model.safetensors").path,
                    "--prompt", "x", "--init-audio", sound.path,
                ], "this ping-pong (rectified-flow) model takes none"
            ),
        ]
        for (arguments, message) in cases {
            try MediaTools.assertFails(
                try KinoraCommand.run(arguments + ["-o", cue]), saying: message, outputFolder: out, before: "denoising")
        }
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
