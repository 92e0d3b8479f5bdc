import Foundation
import KinoraFormats
import KinoraTestSupport
import XCTest

final class SafetensorsFileTests: XCTestCase {
    private func write(header: String, dataBytes: Int, declaredLength: UInt64? = nil) throws -> URL {
        let json = Array(header.utf8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        bytes += json + [UInt8](repeating: 7, count: dataBytes)
        let url = try makeTemporaryFolder(self).appending(path: "broken.safetensors")
        try Data(bytes).write(to: url)
        return url
    }

    private func openingError(_ url: URL) -> WeightsError? {
        do {
            _ = try SafetensorsFile(url: url)
            return nil
        } catch {
            return error as? WeightsError
        }
    }

    func testWrittenFileReadsBackWithMetadataShapesAndValues() throws {
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "tiny"])
        try writer.add("a.weight", shape: [2, 3], floats: [1, -2, 3.5, 0, 0.25, -8])
        try writer.add("b.half", shape: [3], floats: [0.5, -1, 1000], as: .f16)
        try writer.add("c.bf16", shape: [2], floats: [1.5, -3], as: .bf16)
        try writer.add(
            "d.ids", dtype: .i64, shape: [2], bytes: [5, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255])
        try writer.add("e.scalar", shape: [], floats: [42])
        try writer.add("f.empty", shape: [0, 4], floats: [])
        let url = try makeTemporaryFolder(self).appending(path: "tiny.safetensors")
        try writer.write(to: url)

        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "tiny"])
        XCTAssertEqual(file.tensorNames, ["a.weight", "b.half", "c.bf16", "d.ids", "e.scalar", "f.empty"])
        XCTAssertEqual(try file.info("a.weight").shape, [2, 3])
        XCTAssertEqual(try file.info("b.half").dtype, .f16)
        XCTAssertEqual(try file.floats("a.weight"), [1, -2, 3.5, 0, 0.25, -8])
        XCTAssertEqual(try file.floats("b.half"), [0.5, -1, 1000])
        XCTAssertEqual(try file.floats("c.bf16"), [1.5, -3])
        XCTAssertEqual(try file.floats("d.ids"), [5, -1])
        XCTAssertEqual(try file.floats("e.scalar"), [42])
        XCTAssertEqual(try file.floats("f.empty"), [])
        let first = try file.withBytes(of: "a.weight") { Array($0.prefix(4)) }
        XCTAssertEqual(first, [0, 0, 0x80, 0x3F])
        let headerLength = try Data(contentsOf: url).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(headerLength % 8, 0, "the header is padded to keep the data section 8-byte aligned")
    }

    func testTensorBytesComeFromTheMappingWithoutCopying() throws {
        var writer = SafetensorsWriter()
        try writer.add("x", shape: [4], floats: [1, 2, 3, 4])
        let url = try makeTemporaryFolder(self).appending(path: "x.safetensors")
        try writer.write(to: url)
        let file = try SafetensorsFile(url: url)
        let first = try file.withBytes(of: "x") { $0.baseAddress }
        let second = try file.withBytes(of: "x") { $0.baseAddress }
        XCTAssertNotNil(first)
        XCTAssertEqual(first, second, "both calls see the same mapped memory")
    }

    func testWriterRefusesWrongSizesAndDuplicateNames() throws {
        var writer = SafetensorsWriter()
        XCTAssertThrowsError(try writer.add("x", shape: [2, 2], floats: [1, 2, 3]))
        try writer.add("x", shape: [1], floats: [1])
        XCTAssertThrowsError(try writer.add("x", shape: [1], floats: [1])) {
            XCTAssertEqual($0 as? WeightsError, .duplicateTensor(file: "(writer)", tensor: "x"))
        }
    }

    func testTooShortFileIsReportedAsTruncated() throws {
        let url = try makeTemporaryFolder(self).appending(path: "short.safetensors")
        try Data([1, 2, 3]).write(to: url)
        guard case .truncated(let file, _)? = openingError(url) else {
            return XCTFail("expected a truncated-file error")
        }
        XCTAssertEqual(file, url.path)
    }

    func testHeaderLengthBeyondTheFileIsRefused() throws {
        let url = try write(header: "{}", dataBytes: 0, declaredLength: 1 << 40)
        XCTAssertEqual(openingError(url), .headerLengthOutOfRange(file: url.path, length: 1 << 40, fileSize: 10))
    }

    func testHeaderThatIsNotAJSONObjectIsRefused() throws {
        for header in ["[1, 2]", "{\"a\": "] {
            let url = try write(header: header, dataBytes: 0)
            guard case .malformedHeader? = openingError(url) else {
                return XCTFail("expected a malformed-header error for \(header)")
            }
        }
    }

    func testDamagedHeaderJSONNamesTheByteWhereItBreaks() throws {
        let url = try write(header: #"{"w": {"dtype": "F32", "shape": [1] "data_offsets": [0, 4]}}"#, dataBytes: 4)
        XCTAssertEqual(
            openingError(url),
            .malformedHeader(
                file: url.path, reason: "invalid JSON: expected ',' or '}' in an object at byte 44 of the file"))
    }

    func testDuplicateTensorNamesInTheHeaderAreRefused() throws {
        let header =
            #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},"#
            + #" "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
        let url = try write(header: header, dataBytes: 8)
        guard case .malformedHeader(_, let reason) = openingError(url) else { return XCTFail("opened") }
        XCTAssertTrue(reason.contains("duplicate key 'w'"), reason)
    }

    func testUnknownDTypeNamesTheTensor() throws {
        let url = try write(header: #"{"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}"#, dataBytes: 8)
        XCTAssertEqual(openingError(url), .unknownDType(file: url.path, tensor: "w", dtype: "C64"))
    }

    func testSizeThatDisagreesWithTheShapeIsRefused() throws {
        let url = try write(header: #"{"w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 8]}}"#, dataBytes: 8)
        XCTAssertEqual(
            openingError(url),
            .sizeMismatch(file: url.path, tensor: "w", shape: [2, 3], dtype: "F16", expectedBytes: 12, actualBytes: 8))
        XCTAssertTrue(openingError(url)!.description.contains("'w'"))
    }

    func testOffsetsPastTheDataSectionAreRefused() throws {
        let url = try write(header: #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, dataBytes: 12)
        XCTAssertEqual(
            openingError(url), .offsetsOutOfRange(file: url.path, tensor: "w", begin: 0, end: 16, dataSize: 12))
    }

    func testOverlappingTensorsAreRefused() throws {
        let header =
            #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},"#
            + #" "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        let url = try write(header: header, dataBytes: 12)
        XCTAssertEqual(openingError(url), .overlappingTensors(file: url.path, first: "a", second: "b"))
    }

    func testMalformedEntriesAreRefused() throws {
        let entries = [
            #"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#,
            #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#,
            #"{"w": {"shape": [1], "data_offsets": [0, 4]}}"#,
            #"{"__metadata__": {"k": 1}}"#,
        ]
        for header in entries {
            let url = try write(header: header, dataBytes: 4)
            XCTAssertNotNil(openingError(url), header)
        }
    }

    func testF8TensorsOpenInTheirFileDTypeAndDecodeOnTheHost() throws {
        let url = try write(header: #"{"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}"#, dataBytes: 4)
        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(try file.info("w").dtype, .f8E4M3)
        XCTAssertEqual(try file.floats("w"), [Float](repeating: 7 * 0x1p-9, count: 4), "byte 7: a subnormal")
        XCTAssertTrue(WeightDType.f8E4M3.isWeightType)
    }

    func testMissingTensorNamesFileAndTensor() throws {
        var writer = SafetensorsWriter()
        try writer.add("x", shape: [1], floats: [1])
        let url = try makeTemporaryFolder(self).appending(path: "x.safetensors")
        try writer.write(to: url)
        XCTAssertThrowsError(try SafetensorsFile(url: url).floats("y")) {
            XCTAssertEqual($0 as? WeightsError, .missingTensor(file: url.path, tensor: "y"))
        }
    }
}
