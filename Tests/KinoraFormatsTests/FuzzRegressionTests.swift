import Foundation
import KinoraFormats
import XCTest

/// Replays the inputs kept for each reader's fuzz harness (`Fuzz/`, `scripts/fuzz.sh`): the seeds under
/// `Tests/Fixtures/fuzz/seeds/<reader>/` and every input the fuzzer ever made crash or hang, kept under
/// `Tests/Fixtures/fuzz/<reader>/`. Each must open or fail with an error; a crash fails the run.
final class FuzzRegressionTests: XCTestCase {
    private let root = fixturesFolder.appending(path: "fuzz")

    private func inputs(_ reader: String) throws -> [URL] {
        try [root.appending(path: reader), root.appending(path: "seeds/\(reader)")].flatMap { folder in
            guard FileManager.default.fileExists(atPath: folder.path) else { return [URL]() }
            return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        }
    }

    /// Runs `open` on each kept input, reading every tensor it yields.
    private func replay(_ reader: String, minimum: Int, _ open: (URL) throws -> any WeightStore) throws {
        let files = try inputs(reader)
        XCTAssertGreaterThanOrEqual(files.count, minimum, reader)
        for file in files {
            guard let store = try? open(file) else { continue }
            for name in store.tensorNames { _ = try? store.floats(name) }
        }
    }

    func testKeptSafetensorsInputsNeverCrash() throws {
        try replay("safetensors", minimum: 0) { try SafetensorsFile(url: $0) }
    }

    func testKeptONNXInputsNeverCrash() throws {
        try replay("onnx", minimum: 1) { try ONNXFile(url: $0) }
    }

    func testKeptLoRAInputsNeverCrash() throws {
        try replay("lora", minimum: 0) { try LoRAFile(url: $0).store }
    }

    func testKeptPyTorchInputsNeverCrash() throws {
        try replay("pytorch", minimum: 0) { try PyTorchCheckpoint(url: $0) }
    }

    /// An ncnn input opened as the harness opens it: two length bytes, the `.param` text, then the `.bin`.
    private func openNCNN(_ url: URL, scratch: URL) throws -> NCNNModel {
        let bytes = [UInt8](try Data(contentsOf: url))
        guard bytes.count >= 2 else { throw CocoaError(.fileReadCorruptFile) }
        let cut = min(bytes.count, 2 + (Int(bytes[0]) | Int(bytes[1]) << 8) % (bytes.count - 1))
        let (param, bin) = (scratch.appending(path: "m.param"), scratch.appending(path: "m.bin"))
        try Data(bytes[2..<cut]).write(to: param)
        try Data(bytes[cut...]).write(to: bin)
        return try NCNNModel(paramURL: param, binURL: bin)
    }

    func testKeptNCNNInputsNeverCrash() throws {
        let scratch = try makeTemporaryFolder(self)
        try replay("ncnn", minimum: 1) { try openNCNN($0, scratch: scratch) }
    }

    func testTheSeedsAreValidFilesSoTheFuzzerStartsFromThem() throws {
        let ncnn = try openNCNN(root.appending(path: "seeds/ncnn/tiny"), scratch: try makeTemporaryFolder(self))
        XCTAssertEqual(ncnn.tensorNames, ["act.slope", "conv.bias", "conv.weight"])
        XCTAssertEqual(try ONNXFile(url: root.appending(path: "seeds/onnx/tiny.onnx")).tensorNames.count, 3)
    }
}
