import Foundation
import KinoraTestSupport
import XCTest

/// `kinora mix` run as a user runs it, on damaged values and destinations.
final class MixCommandTests: XCTestCase {
    /// A fresh folder holding `tone.wav`, a second of 440 Hz.
    private func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-mix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = ["-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                            folder.appending(path: "tone.wav").path]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        XCTAssertEqual(ffmpeg.terminationStatus, 0)
        return folder
    }

    func testHugeAndNaNTrackValuesAndRatesExitOneStatingTheRange() throws {
        let folder = try folder()
        let tone = folder.appending(path: "tone.wav").path, output = folder.appending(path: "mix.wav").path
        for (arguments, expected) in [([tone + ":start=1e308"], "track '\(tone)' start must be within 0...86400 s"),
                                      ([tone + ":pan=nan"], "pan must be within -1...1, got nan"),
                                      ([tone, "--sample-rate", "15"], "must be within 8000...384000 Hz, got 15"),
                                      ([tone, "--sample-rate", "3000000000"], "got 3000000000")] {
            let outcome = try KinoraCommand.run(["mix"] + arguments + ["-o", output])
            XCTAssertEqual(outcome.status, 1, outcome.error)
            XCTAssertTrue(outcome.error.contains(expected), outcome.error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        }
    }

    func testAStemsFolderThatCannotBeMadeFailsInPlainWordsBeforeTheMixIsWritten() throws {
        let folder = try folder()
        try Data().write(to: folder.appending(path: "file"))
        let output = folder.appending(path: "mix.wav")
        let outcome = try KinoraCommand.run(["mix", folder.appending(path: "tone.wav").path, "-o", output.path,
                                             "--stems", folder.appending(path: "file/stems").path])
        XCTAssertEqual(outcome.status, 1, outcome.error)
        XCTAssertTrue(outcome.error.contains("file/stems: Not a directory"), outcome.error)
        XCTAssertFalse(outcome.error.contains("NSCocoaErrorDomain"), outcome.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
    }

    func testAFIFOTrackIsRefusedInsteadOfBlocking() throws {
        let folder = try folder()
        let fifo = folder.appending(path: "pipe.wav")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let outcome = try KinoraCommand.run(["mix", fifo.path, "-o", folder.appending(path: "mix.wav").path])
        XCTAssertEqual(outcome.status, 1, outcome.error)
        XCTAssertTrue(outcome.error.contains("is a FIFO (named pipe), not a regular file"), outcome.error)
    }
}
