import Foundation
import XCTest
import KinoraFormats

/// Protobuf wire-format bytes written by hand, for building small ONNX files in tests.
public struct ProtobufWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    public mutating func key(_ field: Int, wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    public mutating func int(_ field: Int, _ value: Int64) {
        key(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    public mutating func fixed32(_ field: Int, _ value: UInt32) {
        key(field, wireType: 5)
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    public mutating func data(_ field: Int, _ data: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(data.count))
        bytes += data
    }

    public mutating func string(_ field: Int, _ text: String) { data(field, Array(text.utf8)) }

    public mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        data(field, inner.bytes)
    }

    /// Appends raw bytes (for deliberately broken encodings).
    public mutating func raw(_ extra: [UInt8]) { bytes += extra }
}

/// A small ONNX model: `ModelProto` with a graph of initializers and nodes, written field by field as onnx.proto3
/// numbers them.
public struct ONNXTestModel {
    public struct Tensor {
        public var name: String
        public var dims: [Int64]
        public var dataType: Int64 = 1
        /// `raw_data` bytes; nil leaves the field out.
        public var raw: [UInt8]?
        /// Packed `float_data`.
        public var floatData: [Float]?
        /// Packed `int64_data` (or `int32_data` when `int32` is set).
        public var integers: [Int64]?
        public var int32 = false
        public var external = false

        public init(
            name: String, dims: [Int64], dataType: Int64 = 1, raw: [UInt8]? = nil, floatData: [Float]? = nil,
            integers: [Int64]? = nil, int32: Bool = false, external: Bool = false
        ) {
            self.name = name
            self.dims = dims
            self.dataType = dataType
            self.raw = raw
            self.floatData = floatData
            self.integers = integers
            self.int32 = int32
            self.external = external
        }

        public static func floats(_ name: String, _ dims: [Int64], _ values: [Float]) -> Tensor {
            Tensor(name: name, dims: dims, raw: values.flatMap { value in
                withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
            })
        }

        public func write(_ w: inout ProtobufWriter) {
            for dim in dims { w.int(1, dim) }
            w.int(2, dataType)
            w.string(8, name)
            if let raw { w.data(9, raw) }
            if let floatData {
                w.data(4, floatData.flatMap { value in
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
                })
            }
            if let integers {
                var packed = ProtobufWriter()
                for value in integers { packed.varint(UInt64(bitPattern: value)) }
                w.data(int32 ? 5 : 7, packed.bytes)
            }
            if external { w.int(14, 1) }
        }
    }

    public struct Node {
        public var name: String
        public var opType: String
        public var inputs: [String]
        public var outputs: [String]
        public var ints: [String: [Int64]] = [:]
        public var int: [String: Int64] = [:]
        public var float: [String: Float] = [:]

        public init(
            name: String, opType: String, inputs: [String], outputs: [String], ints: [String: [Int64]] = [:],
            int: [String: Int64] = [:], float: [String: Float] = [:]
        ) {
            self.name = name
            self.opType = opType
            self.inputs = inputs
            self.outputs = outputs
            self.ints = ints
            self.int = int
            self.float = float
        }

        public func write(_ w: inout ProtobufWriter) {
            for input in inputs { w.string(1, input) }
            for output in outputs { w.string(2, output) }
            w.string(3, name)
            w.string(4, opType)
            for (key, values) in ints.sorted(by: { $0.key < $1.key }) {
                w.message(5) { a in
                    a.string(1, key)
                    a.int(20, 7)
                    var packed = ProtobufWriter()
                    for value in values { packed.varint(UInt64(bitPattern: value)) }
                    a.data(8, packed.bytes)
                }
            }
            for (key, value) in int.sorted(by: { $0.key < $1.key }) {
                w.message(5) { a in
                    a.string(1, key)
                    a.int(20, 2)
                    a.int(3, value)
                }
            }
            for (key, value) in float.sorted(by: { $0.key < $1.key }) {
                w.message(5) { a in
                    a.string(1, key)
                    a.int(20, 1)
                    a.fixed32(2, value.bitPattern)
                }
            }
        }
    }

    public var irVersion: Int64 = 8
    public var opset: Int64 = 15
    public var initializers: [Tensor] = []
    public var nodes: [Node] = []
    public var inputs = ["input"]
    public var outputs = ["output"]

    public init() {}

    public var bytes: [UInt8] {
        var w = ProtobufWriter()
        if irVersion > 0 { w.int(1, irVersion) }
        w.string(2, "pytorch")
        w.message(8) { o in
            o.string(1, "")
            o.int(2, opset)
        }
        w.message(7) { g in
            for node in nodes { g.message(1) { node.write(&$0) } }
            g.string(2, "main_graph")
            for tensor in initializers { g.message(5) { tensor.write(&$0) } }
            for input in inputs { g.message(11) { $0.string(1, input) } }
            for output in outputs { g.message(12) { $0.string(1, output) } }
        }
        return w.bytes
    }

    /// `bytes` written to a temporary `.onnx` file, removed when the test ends.
    public static func write(_ bytes: [UInt8], _ testCase: XCTestCase, name: String = "model.onnx") throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appending(path: name)
        try Data(bytes).write(to: url)
        return url
    }
}
