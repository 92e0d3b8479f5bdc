import Foundation
import KinoraTestSupport
import XCTest

/// `kinora music` on the tiny random-weight MusicGen folder (`Tests/Fixtures/musicgen`): a mono WAV at the codec's
/// rate, greedy or sampled, and Stable Audio's options refused with nothing written.
final class MusicCommandMusicGenTests: XCTestCase {
    private static let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    private var model: String { Self.repository.appending(path: "Tests/Fixtures/musicgen").path }

    func testAPromptBecomesAMonoFileOfTheAskedLength() throws {
        let out = try MediaTools.folder(self, "musicgen")
        for (name, extra) in [("greedy", ["--greedy"]), ("sampled", ["--top-k", "8", "--temperature", "0.8"])] {
            let cue = out.appending(path: "\(name).wav")
            let outcome = try KinoraCommand.run([
                "music", "--model", model, "--prompt", "a red fox in the snow", "--seconds", "0.25", "--cfg", "3",
                "--seed", "7", "-o", cue.path,
            ] + extra)
            XCTAssertEqual(outcome.status, 0, outcome.error)
            XCTAssertTrue(outcome.output.contains("0.25 s of 1-channel audio at 800 Hz, 25 code frames in 1 window"),
                          outcome.output)
            XCTAssertEqual(
                try MediaTools.probe(cue, stream: "a:0", entries: "stream=sample_rate,channels,duration_ts"),
                "800,1,200")
        }
    }

    func testBadRequestsAreOneClearErrorWithNothingWritten() throws {
        let out = try MediaTools.folder(self, "musicgen")
        let cue = out.appending(path: "cue.wav").path
        let base = ["music", "--model", model, "--prompt", "a fox"]
        let cases: [([String], String)] = [
            (base + ["--seconds", "700"], "MusicGen makes 0 to 600 s"),
            (base + ["--seconds", "0.01"], "needs at least 3"),
            (base + ["--seconds", "1", "--steps", "4"], "--steps, --negative and --start are for Stable Audio"),
            (base + ["--seconds", "1", "--negative", "rain"], "takes no negative prompt"),
            (base + ["--seconds", "1", "--temperature", "0"], "temperature must be a positive number"),
            (base + ["--seconds", "1", "--top-p", "2"], "top-p must be 0...1"),
            (["music", "--model", Self.repository.appending(path: "Tests/Fixtures/stable-audio").path,
              "--prompt", "x", "--greedy"], "are for MusicGen"),
        ]
        for (arguments, message) in cases {
            try MediaTools.assertFails(try KinoraCommand.run(arguments + ["-o", cue]), saying: message,
                                       outputFolder: out)
        }
    }
}
