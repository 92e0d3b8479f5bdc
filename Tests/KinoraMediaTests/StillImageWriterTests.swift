import Foundation
import KinoraFormats
import XCTest

@testable import KinoraMedia

final class StillImageWriterTests: XCTestCase {
    func testPNGIsExactAndCarriesTextChunks() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let frame = try TestSupport.gradientFrame(index: 3, width: 31, height: 17)
        let url = directory.appendingPathComponent("still.png")
        try StillImageWriter.write(frame, to: url, metadata: ["seed": "42", "workflow": "shot.yaml"])
        let bytes = [UInt8](try Data(contentsOf: url))
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("tEXtseed\u{0}42"))
        XCTAssertTrue(text.contains("tEXtworkflow\u{0}shot.yaml"))
        XCTAssertEqual(try VideoReader(url: url).nextFrame()?.rgb8, frame.rgb8)
    }

    func testJPEGAndWebPDecodeCloseToTheSourceWithMetadata() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let frame = try TestSupport.gradientFrame(index: 0, width: 64, height: 48)
        for (name, marker) in [("s.jpg", "seed=7"), ("s.webp", "kinora:seed=\"7\"")] {
            let url = directory.appendingPathComponent(name)
            try StillImageWriter.write(frame, to: url, quality: 95, metadata: ["seed": "7"])
            let bytes = try Data(contentsOf: url)
            XCTAssertTrue(String(decoding: bytes, as: UTF8.self).contains(marker), name)
            let decoded = try XCTUnwrap(try VideoReader(url: url).nextFrame())
            XCTAssertEqual(decoded.width, 64)
            XCTAssertGreaterThan(TestSupport.psnr(decoded.rgb8, frame.rgb8), 30, name)
        }
    }

    func testOddSizedJPEGAndWebPKeepTheirSize() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let frame = try TestSupport.gradientFrame(index: 0, width: 33, height: 17)
        for name in ["odd.jpg", "odd.webp"] {
            let url = directory.appendingPathComponent(name)
            try StillImageWriter.write(frame, to: url, quality: 95, metadata: ["seed": "7"])
            let decoded = try XCTUnwrap(try VideoReader(url: url).nextFrame())
            XCTAssertEqual(decoded.width, 33, name)
            XCTAssertEqual(decoded.height, 17, name)
            XCTAssertGreaterThan(TestSupport.psnr(decoded.rgb8, frame.rgb8), 28, name)
        }
    }

    func testUnknownExtensionIsRejected() throws {
        let frame = try TestSupport.gradientFrame(index: 0, width: 4, height: 4)
        XCTAssertThrowsError(try StillImageWriter.write(frame, to: URL(fileURLWithPath: "/tmp/x.bmp")))
    }

    func testPNGChecksumsAreValid() {
        XCTAssertEqual(Array("IEND".utf8).withUnsafeBytes(CRC32.checksum), 0xAE42_6082, "PNG chunks use zip's CRC-32")
    }
}
