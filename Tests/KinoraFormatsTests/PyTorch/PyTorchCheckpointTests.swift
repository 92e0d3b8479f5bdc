import Foundation
import XCTest

@testable import KinoraFormats

final class PyTorchCheckpointTests: XCTestCase {
    private let folder = fixturesFolder.appending(path: "pytorch")

    private func bytes(_ store: any WeightStore, _ name: String) throws -> [UInt8] {
        try store.withBytes(of: name) { Array($0) }
    }

    private func assertSameTensors(_ checkpoint: PyTorchCheckpoint, prefix: String, dropping: String = "") throws {
        let expected = try SafetensorsFile(url: folder.appending(path: "expected.safetensors"))
        let names = expected.tensorNames.filter { $0.hasPrefix(prefix) }
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let ours = String(name.dropFirst(dropping.count))
            let info = try checkpoint.info(ours)
            XCTAssertEqual(info.dtype, try expected.info(name).dtype, name)
            XCTAssertEqual(info.shape, try expected.info(name).shape, name)
            XCTAssertEqual(info.byteCount, try expected.info(name).byteCount, name)
            XCTAssertEqual(try bytes(checkpoint, ours), try bytes(expected, name), name)
        }
    }

    func testZipCheckpointGivesEveryTensorByDottedPathWithTorchsBytes() throws {
        let checkpoint = try PyTorchCheckpoint(url: folder.appending(path: "zip.pt"))
        XCTAssertEqual(checkpoint.format, .zip)
        let expected = try SafetensorsFile(url: folder.appending(path: "expected.safetensors"))
        XCTAssertEqual(checkpoint.tensorNames, expected.tensorNames)
        try assertSameTensors(checkpoint, prefix: "")
        XCTAssertEqual(try checkpoint.info("generator.fp8.weight").dtype, .f8E4M3)
        XCTAssertEqual(try checkpoint.info("generator.fp8b.weight").dtype, .f8E5M2)
        XCTAssertEqual(try checkpoint.info("generator.scalar").shape, [])
        XCTAssertFalse(checkpoint.tensors["generator.proj.weight"]!.isContiguous)
        XCTAssertEqual(checkpoint.tensors["generator.row"]!.offset, 10)
    }

    func testContiguousTensorsAreViewsOfTheMappedFile() throws {
        let url = folder.appending(path: "zip.pt")
        let checkpoint = try PyTorchCheckpoint(url: url)
        let file = try Data(contentsOf: url)
        let info = try checkpoint.info("generator.conv.weight")
        XCTAssertEqual(Array(file[info.dataRange]), try bytes(checkpoint, "generator.conv.weight"))
        XCTAssertEqual(info.dataRange.lowerBound % 64, 0, "torch.save aligns storages to 64 bytes")
    }

    func testNonTensorValuesStayInTheRoot() throws {
        let checkpoint = try PyTorchCheckpoint(url: folder.appending(path: "zip.pt"))
        guard case .dict(let root) = checkpoint.root else { return XCTFail("root is \(checkpoint.root.kind)") }
        let values = Dictionary(
            uniqueKeysWithValues: root.entries.compactMap { entry -> (String, PickleValue)? in
                guard case .string(let key) = entry.key else { return nil }
                return (key, entry.value)
            })
        guard case .int(1200) = values["step"], case .float(let lr) = values["lr"],
            case .string("tiny") = values["name"],
            case .opaque = values["best"]
        else { return XCTFail("\(values.mapValues(\.kind))") }
        XCTAssertEqual(lr, 1e-4)
    }

    func testLegacyCheckpointReadsTheSameTensors() throws {
        let checkpoint = try PyTorchCheckpoint(url: folder.appending(path: "legacy.pt"))
        XCTAssertEqual(checkpoint.format, .legacy)
        XCTAssertEqual(checkpoint.tensorNames.count, 10)
        let expected = try SafetensorsFile(url: folder.appending(path: "expected.safetensors"))
        for name in checkpoint.tensorNames {
            XCTAssertEqual(try bytes(checkpoint, name), try bytes(expected, "generator." + name), name)
            XCTAssertEqual(try checkpoint.info(name).shape, try expected.info("generator." + name).shape, name)
        }
    }

    func testAPickleThatWouldRunCodeIsRefusedNamingTheGlobalAndNothingRuns() throws {
        let marker = URL(filePath: "/tmp/kinora-pickle-ran")
        try? FileManager.default.removeItem(at: marker)
        let url = folder.appending(path: "hostile.pt")
        XCTAssertThrowsError(try PyTorchCheckpoint(url: url)) { error in
            guard case .pickle(let file, let record, let offset, let reason) = error as? PyTorchError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(record, "hostile/data.pkl")
            XCTAssertNotNil(offset)
            XCTAssertTrue(reason.contains("'posix.system'"), reason)
            XCTAssertTrue("\(error)".contains("refused rather than run"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path))
    }

    func testEveryTruncationOfACheckpointIsAnErrorNotACrash() throws {
        for name in ["zip.pt", "legacy.pt"] {
            let file = try Data(contentsOf: folder.appending(path: name))
            let temporary = try makeTemporaryFolder(self).appending(path: name)
            for length in stride(from: 0, to: file.count, by: 7) {
                try file.prefix(length).write(to: temporary)
                XCTAssertThrowsError(try PyTorchCheckpoint(url: temporary), "\(name) cut at \(length)")
            }
        }
    }

    func testADamagedPickleFailsItsChecksum() throws {
        var file = try Data(contentsOf: folder.appending(path: "zip.pt"))
        let archive = try file.withUnsafeBytes { try ZipArchive(bytes: $0) }
        let pickle = archive.entries["zip/data.pkl"]!
        file[pickle.dataRange.lowerBound + 20] ^= 0x01
        let url = try makeTemporaryFolder(self).appending(path: "damaged.pt")
        try file.write(to: url)
        XCTAssertThrowsError(try PyTorchCheckpoint(url: url)) {
            XCTAssertEqual(
                $0 as? PyTorchError,
                .archive(
                    file: url.path, entry: "zip/data.pkl", reason: "its CRC-32 does not match; the file is damaged"))
        }
    }

    func testFilesThatAreNotCheckpointsSaySo() throws {
        let url = try makeTemporaryFolder(self).appending(path: "text.pt")
        try Data("hello".utf8).write(to: url)
        XCTAssertThrowsError(try PyTorchCheckpoint(url: url)) {
            XCTAssertEqual(
                $0 as? PyTorchError, .notACheckpoint(file: url.path, reason: "it is neither a zip archive nor a pickle")
            )
        }
    }
}
