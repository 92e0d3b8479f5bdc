import Foundation
@testable import KinoraFormats
import KinoraTestSupport
import XCTest

final class ONNXFileTests: XCTestCase {
    private func sampleModel() -> ONNXTestModel {
        var model = ONNXTestModel()
        model.initializers = [
            .floats("conv.weight", [2, 1, 3], [1, 2, 3, 4, 5, 6]),
            ONNXTestModel.Tensor(name: "conv.bias", dims: [2], floatData: [0.5, -0.5]),
            ONNXTestModel.Tensor(name: "shape", dims: [2], dataType: 7, integers: [3, -4]),
            ONNXTestModel.Tensor(name: "half", dims: [2], dataType: 10, integers: [0x3C00, 0xC000], int32: true),
            .floats("onnx::Conv_9", [2, 2, 1], [1, 0, 0, 1]),
        ]
        model.nodes = [
            .init(name: "/conv/Conv", opType: "Conv", inputs: ["input", "conv.weight", "conv.bias"], outputs: ["y"],
                  ints: ["dilations": [2], "pads": [2, 2]], int: ["group": 1]),
            .init(name: "/post/Conv", opType: "Conv", inputs: ["y", "onnx::Conv_9"], outputs: ["z"]),
            .init(name: "/act/LeakyRelu", opType: "LeakyRelu", inputs: ["z"], outputs: ["output"],
                  float: ["alpha": 0.1]),
        ]
        return model
    }

    func testONNXFileReadsInitializersNodesAndOpset() throws {
        let file = try ONNXFile(url: ONNXTestModel.write(sampleModel().bytes, self))
        XCTAssertEqual(file.irVersion, 8)
        XCTAssertEqual(file.opsetVersion, 15)
        XCTAssertEqual(file.producer, "pytorch")
        XCTAssertEqual(file.graphInputs, ["input"])
        XCTAssertEqual(file.graphOutputs, ["output"])
        XCTAssertEqual(file.tensorNames, ["conv.bias", "conv.weight", "half", "onnx::Conv_9", "shape"])
        XCTAssertEqual(try file.info("conv.weight").shape, [2, 1, 3])
        XCTAssertEqual(try file.info("conv.weight").dtype, .f32)
        XCTAssertEqual(try file.floats("conv.weight"), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try file.floats("conv.bias"), [0.5, -0.5])
        XCTAssertEqual(try file.floats("shape"), [3, -4])
        XCTAssertEqual(try file.info("half").dtype, .f16)
        XCTAssertEqual(try file.floats("half"), [1, -2])
        // raw_data and packed float_data stay ranges of the mapped file.
        for name in ["conv.weight", "conv.bias"] {
            guard case .mapped = try file.tensor(name).storage else { return XCTFail("\(name) was copied") }
        }
        let conv = try XCTUnwrap(file.node(named: "/conv/Conv"))
        XCTAssertEqual(conv.ints("dilations"), [2])
        XCTAssertEqual(conv.ints("pads"), [2, 2])
        XCTAssertEqual(conv.int("group"), 1)
        XCTAssertEqual(file.node(named: "/act/LeakyRelu")?.float("alpha"), 0.1)
        XCTAssertEqual(file.consumers(of: "onnx::Conv_9").map(\.name), ["/post/Conv"])
        XCTAssertEqual(file.producer(of: "z")?.name, "/post/Conv")
        XCTAssertThrowsError(try file.info("missing")) {
            XCTAssertEqual($0 as? ONNXError, .missingTensor(file: file.sourceName, tensor: "missing"))
        }
    }

    func testONNXFileRejectsEveryTruncation() throws {
        let bytes = sampleModel().bytes
        let folder = try makeTemporaryFolder(self)
        for length in 0..<bytes.count {
            let url = folder.appending(path: "cut\(length).onnx")
            try Data(bytes.prefix(length)).write(to: url)
            XCTAssertThrowsError(try ONNXFile(url: url), "a file cut to \(length) bytes opened") { error in
                XCTAssertTrue(error is ONNXError, "\(error)")
                XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            }
        }
    }

    func testONNXFileRejectsBadWireTypes() throws {
        for broken in [[0x0B] as [UInt8], [0x0F], [0x0A, 0x01, 0x00]] {
            // Field 1 as a start-group (3), as wire type 7, and ir_version as a length-delimited value.
            var w = ProtobufWriter()
            w.raw(broken)
            w.raw(sampleModel().bytes)
            let url = try ONNXTestModel.write(w.bytes, self)
            XCTAssertThrowsError(try ONNXFile(url: url)) { error in
                guard case .malformed(_, let location, let reason) = error as? ONNXError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(location, "ModelProto")
                XCTAssertTrue(reason.contains("wire type"), reason)
            }
        }
    }

    func testONNXFileRejectsLengthsPastTheEnd() throws {
        var w = ProtobufWriter()
        w.int(1, 8)
        w.key(7, wireType: 2)
        w.varint(1_000_000)
        w.raw([0x0A, 0x00])
        XCTAssertThrowsError(try ONNXFile(url: ONNXTestModel.write(w.bytes, self))) { error in
            guard case .malformed(_, _, let reason) = error as? ONNXError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("claims 1000000 bytes"), reason)
        }
        var long = ProtobufWriter()
        long.raw([0x08] + [UInt8](repeating: 0xFF, count: 11) + [0x01])
        XCTAssertThrowsError(try ONNXFile(url: ONNXTestModel.write(long.bytes, self))) { error in
            guard case .malformed(_, _, let reason) = error as? ONNXError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("longer than 10 bytes"), reason)
        }
    }

    func testONNXFileRejectsFilesThatAreNotONNX() throws {
        let empty = try ONNXTestModel.write([], self)
        XCTAssertThrowsError(try ONNXFile(url: empty)) {
            XCTAssertEqual($0 as? ONNXError, .notONNX(file: empty.path, reason: "the file is empty"))
        }
        XCTAssertThrowsError(try ONNXFile(url: ONNXTestModel.write(Array("just some text\n".utf8), self))) {
            XCTAssertNotNil($0 as? ONNXError, "\($0)")
        }
        var noIR = sampleModel()
        noIR.irVersion = 0
        let noIRURL = try ONNXTestModel.write(noIR.bytes, self)
        XCTAssertThrowsError(try ONNXFile(url: noIRURL)) {
            XCTAssertEqual($0 as? ONNXError, .notONNX(file: noIRURL.path, reason: "ModelProto.ir_version is missing"))
        }
        var w = ProtobufWriter()
        w.int(1, 8)
        let noGraph = try ONNXTestModel.write(w.bytes, self)
        XCTAssertThrowsError(try ONNXFile(url: noGraph)) {
            XCTAssertEqual($0 as? ONNXError, .notONNX(file: noGraph.path, reason: "ModelProto.graph is missing"))
        }
    }

    func testONNXFileRejectsInconsistentTensors() throws {
        func open(_ tensor: ONNXTestModel.Tensor) throws -> (URL, Error?) {
            var model = ONNXTestModel()
            model.initializers = [tensor]
            let url = try ONNXTestModel.write(model.bytes, self, name: "\(tensor.name).onnx")
            do {
                _ = try ONNXFile(url: url)
                return (url, nil)
            } catch {
                return (url, error)
            }
        }
        let (short, shortError) = try open(.init(name: "short", dims: [2, 3], raw: [UInt8](repeating: 0, count: 20)))
        XCTAssertEqual(shortError as? ONNXError, .tensorSizeMismatch(
            file: short.path, tensor: "short", shape: [2, 3], dataType: "float", expectedBytes: 24, actualBytes: 20))
        let (external, externalError) = try open(.init(name: "far", dims: [1], external: true))
        XCTAssertEqual(externalError as? ONNXError, .unsupportedTensor(
            file: external.path, tensor: "far", reason: "its data is stored in an external file"))
        let (_, negativeError) = try open(.init(name: "negative", dims: [-1], raw: []))
        guard case .malformed(_, let location, let reason) = negativeError as? ONNXError else {
            return XCTFail("\(String(describing: negativeError))")
        }
        XCTAssertEqual(location, "graph.initializer[0]")
        XCTAssertTrue(reason.contains("dimension -1"), reason)
        let (_, stringError) = try open(.init(name: "words", dims: [1], dataType: 8, raw: []))
        guard case .unsupportedTensor(_, "words", _) = stringError as? ONNXError else {
            return XCTFail("\(String(describing: stringError))")
        }
        var twice = ONNXTestModel()
        twice.initializers = [.floats("w", [1], [1]), .floats("w", [1], [2])]
        let twiceURL = try ONNXTestModel.write(twice.bytes, self)
        XCTAssertThrowsError(try ONNXFile(url: twiceURL)) {
            XCTAssertEqual($0 as? ONNXError, .duplicateTensor(file: twiceURL.path, tensor: "w"))
        }
    }
}
