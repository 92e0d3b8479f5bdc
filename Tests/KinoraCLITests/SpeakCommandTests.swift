import Foundation
import KinoraTestSupport
import XCTest

/// `kinora speak` run as a user would: bad input gives one clear message, a non-zero exit and no file; with the
/// installed voice, a short sentence becomes a WAV.
final class SpeakCommandTests: XCTestCase {
    private static let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    private static let fixtureConfig = repository
        .appending(path: "Tests/Fixtures/piper-frontend/en_US-joe-medium.onnx.json")

    /// A fresh folder, removed when the test ends.
    private func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-speak-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    /// A voice folder with the joe voice's real config next to a model file that holds `model`.
    private func fakeVoice(model: Data, config: Bool = true) throws -> URL {
        let voice = try folder().appending(path: "fake.onnx")
        try model.write(to: voice)
        if config {
            try FileManager.default.copyItem(at: Self.fixtureConfig, to: voice.appendingPathExtension("json"))
        }
        return voice
    }

    /// Asserts a failed run: non-zero exit, `message` in a one-line error, and nothing at all in `outputFolder`.
    private func assertFails(_ outcome: KinoraCommand.Outcome, saying message: String, outputFolder: URL,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNotEqual(outcome.status, 0, file: file, line: line)
        XCTAssertTrue(outcome.error.contains(message), outcome.error, file: file, line: line)
        XCTAssertEqual(outcome.error.split(separator: "\n").count, 1, outcome.error, file: file, line: line)
        let left = try FileManager.default.contentsOfDirectory(atPath: outputFolder.path)
        XCTAssertEqual(left, [], file: file, line: line)
    }

    func testSpeakEmptyTextIsOneClearErrorAndWritesNothing() throws {
        let voice = try fakeVoice(model: Data([0]))
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "  ", "--voice", voice.path, "-o", out.appending(path: "line.wav").path])
        try assertFails(outcome, saying: "no text to speak", outputFolder: out)
    }

    func testSpeakBlankStandardInputIsTheSameError() throws {
        let voice = try fakeVoice(model: Data([0]))
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "-", "--voice", voice.path, "-o", out.appending(path: "line.wav").path],
                              input: "\n\n")
        try assertFails(outcome, saying: "no text to speak", outputFolder: out)
    }

    func testSpeakTextFileThatIsAFIFOIsRefusedInsteadOfWaitingForAWriter() throws {
        let voice = try fakeVoice(model: Data([0]))
        let out = try folder()
        let fifo = try folder().appending(path: "text.txt")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let outcome = try KinoraCommand.run(["speak", "--file", fifo.path, "--voice", voice.path,
                                             "-o", out.appending(path: "line.wav").path], timeout: 60)
        try assertFails(outcome, saying: "'\(fifo.path)' is a FIFO (named pipe), not a regular file", outputFolder: out)
    }

    func testSpeakWithoutTextSaysHowToGiveIt() throws {
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "-o", out.appending(path: "line.wav").path])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("--file"), outcome.error)
    }

    func testSpeakVoiceThatIsNotAnONNXExportIsRejected() throws {
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "Hello.", "--voice", "/tmp/model.safetensors",
                               "-o", out.appending(path: "line.wav").path])
        try assertFails(outcome, saying: "/tmp/model.safetensors: not a Piper voice", outputFolder: out)
    }

    func testSpeakVoiceWithoutItsConfigNamesTheMissingFile() throws {
        let voice = try fakeVoice(model: Data([0]), config: false)
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "Hello.", "--voice", voice.path, "-o", out.appending(path: "line.wav").path])
        try assertFails(outcome, saying: "fake.onnx.json is missing", outputFolder: out)
    }

    func testSpeakModelThatIsNotAVITSExportFailsBeforeWriting() throws {
        let voice = try fakeVoice(model: Data("this is not a protobuf".utf8))
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "Hello.", "--voice", voice.path, "-o", out.appending(path: "line.wav").path])
        try assertFails(outcome, saying: voice.path, outputFolder: out)
    }

    func testSpeakMissingDefaultVoiceSaysToRunSetup() throws {
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "Hello.", "-o", out.appending(path: "line.wav").path],
                              environment: ["KINORA_PIPER_VOICE": "/nonexistent/voice.onnx"])
        try assertFails(outcome, saying: "run bash scripts/setup.sh", outputFolder: out)
    }

    func testSpeakUnknownSpeakerIsRejected() throws {
        let voice = try fakeVoice(model: Data([0]))
        let out = try folder()
        let outcome = try KinoraCommand.run(["speak", "Hello.", "--voice", voice.path, "--speaker", "ann",
                               "-o", out.appending(path: "line.wav").path])
        try assertFails(outcome, saying: "no speaker named 'ann'", outputFolder: out)
    }

    func testSpeakWritesAShortSentenceWithTheInstalledVoice() throws {
        let model = try InstalledPiperVoice.url().path
        let output = try folder().appending(path: "line.wav")
        let outcome = try KinoraCommand.run(["speak", "Hi there.", "--voice", model, "--seed", "1", "--validation",
                               "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertFalse(outcome.error.contains("validation"), outcome.error)
        XCTAssertTrue(outcome.output.contains("real-time factor"), outcome.output)
        let wav = try WAVFile(Data(contentsOf: output))
        XCTAssertEqual(wav.sampleRate, 22050)
        XCTAssertEqual(wav.channels, 1)
        XCTAssertGreaterThan(wav.samples.count, 22050 / 4, "under a quarter second for 'Hi there.'")
        let rms = (wav.samples.reduce(0) { $0 + $1 * $1 } / Double(wav.samples.count)).squareRoot()
        XCTAssertGreaterThan(rms, 0.01, "the WAV is silent")
        XCTAssertLessThanOrEqual(wav.samples.map(abs).max() ?? 0, 1)
    }
}

/// The fields of a PCM WAV file the tests check: format, and the samples scaled to [-1, 1].
private struct WAVFile {
    var sampleRate: Int
    var channels: Int
    var samples: [Double]

    init(_ data: Data) throws {
        let bytes = [UInt8](data)
        func integer(_ offset: Int, _ count: Int) -> Int {
            (0..<count).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        guard bytes.count > 44, String(decoding: bytes[0..<4], as: UTF8.self) == "RIFF",
              String(decoding: bytes[8..<12], as: UTF8.self) == "WAVE" else {
            throw CocoaError(.fileReadCorruptFile)
        }
        var offset = 12
        var format: (channels: Int, rate: Int, bits: Int)?
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            let size = integer(offset + 4, 4)
            if id == "fmt " {
                format = (integer(offset + 10, 2), integer(offset + 12, 4), integer(offset + 22, 2))
            } else if id == "data", let format {
                let width = format.bits / 8
                let end = min(offset + 8 + size, bytes.count)
                let scale = Double(1 << (format.bits - 1))
                sampleRate = format.rate
                channels = format.channels
                samples = stride(from: offset + 8, to: end - width + 1, by: width).map { start in
                    let raw = integer(start, width)
                    let signed = raw >= 1 << (format.bits - 1) ? raw - (1 << format.bits) : raw
                    return Double(signed) / scale
                }
                return
            }
            offset += 8 + size + size % 2
        }
        throw CocoaError(.fileReadCorruptFile)
    }
}
