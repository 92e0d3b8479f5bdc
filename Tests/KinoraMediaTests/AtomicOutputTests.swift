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
}
