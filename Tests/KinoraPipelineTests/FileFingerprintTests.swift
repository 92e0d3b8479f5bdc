import Foundation
import XCTest

@testable import KinoraPipeline

final class FileFingerprintTests: XCTestCase {
    func testChangesWhenAFileInTheFolderChanges() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let file = folder.appendingPathComponent("unet/weights.bin")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("one".utf8).write(to: file)
        let metadata = try FileFingerprint.of(folder)
        let content = try FileFingerprint.of(folder, mode: .content)
        XCTAssertEqual(try FileFingerprint.of(folder), metadata)
        XCTAssertTrue(metadata.hasPrefix("metadata:"))
        try Data("two!".utf8).write(to: file)
        XCTAssertNotEqual(try FileFingerprint.of(folder), metadata)
        XCTAssertNotEqual(try FileFingerprint.of(folder, mode: .content), content)
    }

    func testContentFingerprintIgnoresWhereTheFilesAre() throws {
        let a = try TestSupport.temporaryFolder(self), b = try TestSupport.temporaryFolder(self)
        for folder in [a, b] { try Data("same".utf8).write(to: folder.appendingPathComponent("w.bin")) }
        XCTAssertEqual(try FileFingerprint.of(a, mode: .content), try FileFingerprint.of(b, mode: .content))
        XCTAssertNotEqual(try FileFingerprint.of(a), try FileFingerprint.of(b))
    }

    func testMissingFileIsAnError() {
        XCTAssertThrowsError(try FileFingerprint.of(URL(fileURLWithPath: "/nonexistent/x"))) {
            XCTAssertEqual("\($0)", "/nonexistent/x: cannot fingerprint: no such file or folder")
        }
    }
}
