import Foundation
import XCTest

@testable import KinoraMedia

final class AtomicOutputTests: XCTestCase {
    func testCommitRenamesAndDiscardRemovesTheTemporary() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let final = directory.appendingPathComponent("out.wav")
        try Data("old".utf8).write(to: final)
        let discarded = try AtomicOutput(final)
        try Data("partial".utf8).write(to: discarded.temporaryURL)
        discarded.discard()
        XCTAssertEqual(try TestSupport.files(in: directory), ["out.wav"])
        XCTAssertEqual(try String(contentsOf: final, encoding: .utf8), "old")
        let committed = try AtomicOutput(final)
        XCTAssertEqual(committed.temporaryURL.deletingLastPathComponent(), final.deletingLastPathComponent())
        try Data("new".utf8).write(to: committed.temporaryURL)
        try committed.commit()
        XCTAssertEqual(try TestSupport.files(in: directory), ["out.wav"])
        XCTAssertEqual(try String(contentsOf: final, encoding: .utf8), "new")
    }

    func testMissingDirectoryIsReported() {
        XCTAssertThrowsError(try AtomicOutput(URL(fileURLWithPath: "/nonexistent/x.mp4"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent"))
        }
    }

    func testLeftoversOfWritersThatNoLongerRunAreRemovedAndARunningWritersAreKept() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let current = WriterProcess.current
        let ended = try XCTUnwrap(current.startTime.map { WriterProcess(pid: current.pid, startTime: $0 + 1) },
                                  "this system records process start times")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let gone = WriterProcess(pid: child.processIdentifier, startTime: 1)
        let names = [".out.mp4.kinora-\(gone)-AAAAAAAA.tmp.mp4", ".out.mp4.kinora-\(ended)-BBBBBBBB.tmp.mp4",
                     ".out.mp4.kinora-\(current)-CCCCCCCC.tmp.mp4", ".out.mp4.kinora-DDDDDDDD.tmp.mp4",
                     ".other.mp4.kinora-\(gone)-EEEEEEEE.tmp.mp4"]
        for name in names { try Data("partial".utf8).write(to: directory.appendingPathComponent(name)) }

        let output = try AtomicOutput(directory.appendingPathComponent("out.mp4"))
        XCTAssertEqual(output.removedLeftovers.map(\.lastPathComponent).sorted(), Array(names[0...1]).sorted())
        XCTAssertEqual(try TestSupport.files(in: directory), Array(names[2...]).sorted())
        XCTAssertTrue(output.temporaryURL.lastPathComponent.hasPrefix(".out.mp4.kinora-\(current)-"))
    }

    func testAWriterIsRunningOnlyWhileItsIdNamesAProcessThatStartedAtItsTime() throws {
        let current = WriterProcess.current
        XCTAssertTrue(current.isRunning)
        XCTAssertEqual(WriterProcess(Substring(current.description)), current)
        let start = try XCTUnwrap(current.startTime)
        XCTAssertFalse(WriterProcess(pid: current.pid, startTime: start + 1).isRunning)
        XCTAssertNil(WriterProcess("12x-3"))
        XCTAssertNil(WriterProcess(""))
    }
}
