import Foundation
import XCTest

@testable import KinoraModels

final class RegularFileTests: XCTestCase {
    private func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appending(path: "kinora-regular-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testAFIFOInPlaceOfAConfigurationIsRefusedNamingItsKind() throws {
        let fifo = try folder().appending(path: "config.json")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertThrowsError(try UNet2DConditionConfig(contentsOf: fifo)) { error in
            XCTAssertTrue(String(describing: error).contains("is a FIFO (named pipe), not a regular file"), "\(error)")
        }
        XCTAssertThrowsError(try PiperVoiceConfig.load(from: fifo)) { error in
            XCTAssertTrue(String(describing: error).contains("not a regular file"), "\(error)")
        }
    }

    func testAFIFOInATokenizerFolderIsRefusedBeforeTheTokenizerReadsIt() throws {
        let tokenizer = try folder()
        XCTAssertEqual(mkfifo(tokenizer.appending(path: "merges.txt").path, 0o600), 0)
        XCTAssertThrowsError(try RegularFile.requireTokenizerFiles(in: tokenizer)) { error in
            XCTAssertTrue(String(describing: error).hasSuffix("merges.txt' is a FIFO (named pipe), not a regular file; "
                                                              + "give the path of a file"), "\(error)")
        }
    }
}
