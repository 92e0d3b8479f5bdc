import Foundation
import KinoraTestSupport
import XCTest

/// The `ffmpeg` and `ffprobe` commands (scripts/setup.sh installs them) for tests that make media inputs and check
/// outputs, and a fresh folder per test.
enum MediaTools {
    /// Runs ffmpeg quietly with `arguments`, overwriting outputs; fails the test when it fails.
    static func ffmpeg(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/ffmpeg")
        process.arguments = ["-loglevel", "error", "-y"] + arguments
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "ffmpeg \(arguments)", file: file, line: line)
    }

    /// `entries` of one stream of `url`, as ffprobe prints them (CSV, no header), counting frames.
    static func probe(_ url: URL, stream: String = "v:0", entries: String = "stream=width,height,nb_read_frames")
        throws -> String
    {
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/ffprobe")
        process.arguments = [
            "-v", "error", "-count_frames", "-select_streams", stream, "-show_entries", entries,
            "-of", "csv=p=0", url.path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Asserts that a run failed with `message` on standard error, did not print `before` (a sign that work began:
    /// "denoising"), and left `outputFolder` empty.
    static func assertFails(
        _ outcome: KinoraCommand.Outcome, saying message: String, outputFolder: URL, before marker: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertNotEqual(outcome.status, 0, file: file, line: line)
        XCTAssertTrue(outcome.error.contains(message), outcome.error, file: file, line: line)
        if let marker {
            XCTAssertFalse(outcome.error.contains(marker), "work began: \(outcome.error)", file: file, line: line)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: outputFolder.path)
        XCTAssertEqual(left, [], file: file, line: line)
    }

    /// A fresh folder under the temporary directory, removed when `test` ends.
    static func folder(_ test: XCTestCase, _ label: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }
}
