import Foundation
import XCTest

@testable import KinoraPipeline

final class FileFingerprintTests: XCTestCase {
    private let past = Date(timeIntervalSince1970: 1_000_000)

    func testChangesWhenAFileInTheFolderChanges() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let file = folder.appendingPathComponent("unet/weights.bin")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("one".utf8).write(to: file)
        let fingerprint = try FileFingerprint.of(folder)
        XCTAssertEqual(try FileFingerprint.of(folder), fingerprint)
        XCTAssertTrue(fingerprint.hasPrefix("metadata:"))
        try Data("two!".utf8).write(to: file)
        XCTAssertNotEqual(try FileFingerprint.of(folder), fingerprint)
    }

    func testSameFilesInAnotherPlaceDiffer() throws {
        let a = try TestSupport.temporaryFolder(self), b = try TestSupport.temporaryFolder(self)
        for folder in [a, b] { try Data("same".utf8).write(to: folder.appendingPathComponent("w.bin")) }
        XCTAssertNotEqual(try FileFingerprint.of(a), try FileFingerprint.of(b))
    }

    func testFollowsALinkedFileToWhatItPointsTo() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let blob = folder.appendingPathComponent("blobs/abc123")
        try FileManager.default.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: blob)
        let link = folder.appendingPathComponent("model.safetensors")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "blobs/abc123")
        let before = try FileFingerprint.of(link)
        try Data("new weights".utf8).write(to: blob)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: blob.path)
        XCTAssertNotEqual(try FileFingerprint.of(link), before, "the link itself did not change; its target did")
    }

    func testFollowsLinkedFilesInsideAFolder() throws {
        // A Hugging Face snapshot: a folder of links into a blobs folder.
        let root = try TestSupport.temporaryFolder(self)
        let snapshot = root.appendingPathComponent("snapshots/main/unet")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        let blob = root.appendingPathComponent("blob")
        try Data("weights".utf8).write(to: blob)
        try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent("model.bin").path,
                                                   withDestinationPath: blob.path)
        let folder = root.appendingPathComponent("snapshots/main")
        let before = try FileFingerprint.of(folder)
        try Data("new weights".utf8).write(to: blob)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: blob.path)
        XCTAssertNotEqual(try FileFingerprint.of(folder), before)
    }

    func testChangesWhenACompanionFileChanges() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let voice = folder.appendingPathComponent("voice.onnx")
        let config = folder.appendingPathComponent("voice.onnx.json")
        try Data("onnx".utf8).write(to: voice)
        try Data(#"{"sample_rate": 22050}"#.utf8).write(to: config)
        let before = try FileFingerprint.of(voice, companions: [config])
        XCTAssertNotEqual(try FileFingerprint.of(voice), before)
        try Data(#"{"sample_rate": 16000}"#.utf8).write(to: config)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: config.path)
        XCTAssertNotEqual(try FileFingerprint.of(voice, companions: [config]), before)
    }

    func testMissingFileOrCompanionIsAnError() throws {
        XCTAssertThrowsError(try FileFingerprint.of(URL(fileURLWithPath: "/nonexistent/x"))) {
            XCTAssertEqual("\($0)", "/nonexistent/x: cannot fingerprint: no such file or folder")
        }
        let voice = try TestSupport.temporaryFolder(self).appendingPathComponent("voice.onnx")
        try Data("onnx".utf8).write(to: voice)
        let config = URL(fileURLWithPath: voice.path + ".json")
        XCTAssertThrowsError(try FileFingerprint.of(voice, companions: [config])) {
            XCTAssertEqual("\($0)", "\(config.path): cannot fingerprint: no such file")
        }
    }
}
