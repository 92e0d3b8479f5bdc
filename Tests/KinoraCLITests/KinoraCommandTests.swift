import Foundation
import KinoraTestSupport
import XCTest

/// The runner the command-line tests use: a command that hangs is killed and fails its test.
final class KinoraCommandTests: XCTestCase {
    func testACommandThatHangsIsKilledAfterItsTimeoutAndFailsTheTest() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-hang-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Raw frames from a named pipe are read on purpose; with no writer, opening it waits for ever.
        let fifo = folder.appending(path: "frames.rgb")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let started = Date()
        XCTAssertThrowsError(try KinoraCommand.run(["encode", "--raw-rgb", "2x2", "--frames", fifo.path, "--fps", "24",
                                                    "-o", folder.appending(path: "out.mp4").path], timeout: 2)) {
            XCTAssertTrue($0 is KinoraCommand.TimedOut, "\($0)")
            XCTAssertTrue("\($0)".contains("did not finish within 2.0 s"), "\($0)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
    }
}
