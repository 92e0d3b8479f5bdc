import Foundation
import XCTest

/// Protobuf wire-format bytes written by hand, for building small ONNX files in tests.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func key(_ field: Int, wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    mutating func int(_ field: Int, _ value: Int64) {
        key(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func fixed32(_ field: Int, _ value: UInt32) {
        key(field, wireType: 5)
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func data(_ field: Int, _ data: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(data.count))
        bytes += data
    }

    mutating func string(_ field: Int, _ text: String) { data(field, Array(text.utf8)) }

    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        data(field, inner.bytes)
    }

    /// Appends raw bytes (for deliberately broken encodings).
    mutating func raw(_ extra: [UInt8]) { bytes += extra }
}

/// A small ONNX model: `ModelProto` with a graph of initializers and nodes, written field by field as onnx.proto3
/// numbers them.
struct ONNXTestModel {
    struct Tensor {
        var name: String
        var dims: [Int64]
        var dataType: Int64 = 1
        /// `raw_data` bytes; nil leaves the field out.
        var raw: [UInt8]?
        /// Packed `float_data`.
        var floatData: [Float]?
        /// Packed `int64_data` (or `int32_data` when `int32` is set).
        var integers: [Int64]?
        var int32 = false
        var external = false

        static func floats(_ name: String, _ dims: [Int64], _ values: [Float]) -> Tensor {
            Tensor(name: name, dims: dims, raw: values.flatMap { value in
                withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
            })
        }

        func write(_ w: inout ProtobufWriter) {
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

    struct Node {
        var name: String
        var opType: String
        var inputs: [String]
        var outputs: [String]
        var ints: [String: [Int64]] = [:]
        var int: [String: Int64] = [:]
        var float: [String: Float] = [:]

        func write(_ w: inout ProtobufWriter) {
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

    var irVersion: Int64 = 8
    var opset: Int64 = 15
    var initializers: [Tensor] = []
    var nodes: [Node] = []
    var inputs = ["input"]
    var outputs = ["output"]

    var bytes: [UInt8] {
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
    static func write(_ bytes: [UInt8], _ testCase: XCTestCase, name: String = "model.onnx") throws -> URL {
        let url = try makeTemporaryFolder(testCase).appending(path: name)
        try Data(bytes).write(to: url)
        return url
    }
}
