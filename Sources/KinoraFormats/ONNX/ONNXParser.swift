/// Decodes the few ONNX messages Kinora needs (`ModelProto`, `GraphProto`, `NodeProto`, `AttributeProto`,
/// `TensorProto`, from onnx/onnx.proto3) straight from the mapped file. Unknown fields are skipped, as protobuf
/// requires; every wire-format fault becomes `ONNXError.malformed` naming where in the message tree it was found.
struct ONNXParser {
    /// The parts of a `ModelProto` that Kinora uses.
    struct Model {
        var irVersion: Int64 = 0
        var producer = ""
        /// Operator-set versions by domain ("" is the default ONNX domain).
        var opsets: [String: Int64] = [:]
        var graph: Graph?
    }

    /// The parts of a `GraphProto` that Kinora uses.
    struct Graph {
        var nodes: [ONNXNode] = []
        var initializers: [ONNXTensor] = []
        var inputs: [String] = []
        var outputs: [String] = []
    }

    let bytes: UnsafeRawBufferPointer
    let file: String

    /// The model in the whole buffer.
    func model() throws -> Model {
        var model = Model()
        try decode(0..<bytes.count, "ModelProto") { reader, field, wireType in
            switch field {
            case 1:
                try reader.expect(wireType, .varint, field: field)
                model.irVersion = Int64(bitPattern: try reader.readVarint())
            case 2:
                try reader.expect(wireType, .lengthDelimited, field: field)
                model.producer = try reader.readString(field: field)
            case 7:
                try reader.expect(wireType, .lengthDelimited, field: field)
                model.graph = try graph(reader.readLengthDelimited(field: field))
            case 8:
                try reader.expect(wireType, .lengthDelimited, field: field)
                let (domain, version) = try opset(reader.readLengthDelimited(field: field),
                                                  "ModelProto.opset_import[\(model.opsets.count)]")
                model.opsets[domain == "ai.onnx" ? "" : domain] = version
            default:
                try reader.skip(wireType, field: field)
            }
        }
        return model
    }

    private func opset(_ range: Range<Int>, _ location: String) throws -> (String, Int64) {
        var domain = "", version: Int64 = 0
        try decode(range, location) { reader, field, wireType in
            switch field {
            case 1:
                try reader.expect(wireType, .lengthDelimited, field: field)
                domain = try reader.readString(field: field)
            case 2:
                try reader.expect(wireType, .varint, field: field)
                version = Int64(bitPattern: try reader.readVarint())
            default:
                try reader.skip(wireType, field: field)
            }
        }
        return (domain, version)
    }

    private func graph(_ range: Range<Int>) throws -> Graph {
        var graph = Graph()
        try decode(range, "ModelProto.graph") { reader, field, wireType in
            switch field {
            case 1:
                try reader.expect(wireType, .lengthDelimited, field: field)
                graph.nodes.append(try node(reader.readLengthDelimited(field: field),
                                            "graph.node[\(graph.nodes.count)]"))
            case 5:
                try reader.expect(wireType, .lengthDelimited, field: field)
                graph.initializers.append(try tensor(reader.readLengthDelimited(field: field),
                                                     "graph.initializer[\(graph.initializers.count)]"))
            case 11, 12:
                try reader.expect(wireType, .lengthDelimited, field: field)
                let location = field == 11
                    ? "graph.input[\(graph.inputs.count)]" : "graph.output[\(graph.outputs.count)]"
                let name = try firstString(reader.readLengthDelimited(field: field), location)
                if field == 11 { graph.inputs.append(name) } else { graph.outputs.append(name) }
            default:
                try reader.skip(wireType, field: field)
            }
        }
        return graph
    }

    /// Field 1 of a message (the name of a `ValueInfoProto`).
    private func firstString(_ range: Range<Int>, _ location: String) throws -> String {
        var name = ""
        try decode(range, location) { reader, field, wireType in
            if field == 1 {
                try reader.expect(wireType, .lengthDelimited, field: field)
                name = try reader.readString(field: field)
            } else {
                try reader.skip(wireType, field: field)
            }
        }
        return name
    }

    private func node(_ range: Range<Int>, _ location: String) throws -> ONNXNode {
        var name = "", opType = "", inputs: [String] = [], outputs: [String] = []
        var attributes: [String: ONNXAttribute] = [:]
        try decode(range, location) { reader, field, wireType in
            switch field {
            case 1, 2, 3, 4:
                try reader.expect(wireType, .lengthDelimited, field: field)
                let text = try reader.readString(field: field)
                switch field {
                case 1: inputs.append(text)
                case 2: outputs.append(text)
                case 3: name = text
                default: opType = text
                }
            case 5:
                try reader.expect(wireType, .lengthDelimited, field: field)
                let (key, value) = try attribute(reader.readLengthDelimited(field: field),
                                                 "\(location).attribute[\(attributes.count)]")
                attributes[key] = value
            default:
                try reader.skip(wireType, field: field)
            }
        }
        return ONNXNode(name: name, opType: opType, inputs: inputs, outputs: outputs, attributes: attributes)
    }

    private func attribute(_ range: Range<Int>, _ location: String) throws -> (String, ONNXAttribute) {
        var name = "", type: Int64?
        var float: Float = 0, int: Int64 = 0, string = "", tensor: ONNXTensor?
        var floats: [Float] = [], ints: [Int64] = [], strings: [String] = []
        try decode(range, location) { reader, field, wireType in
            switch field {
            case 1:
                try reader.expect(wireType, .lengthDelimited, field: field)
                name = try reader.readString(field: field)
            case 20:
                try reader.expect(wireType, .varint, field: field)
                type = Int64(bitPattern: try reader.readVarint())
            case 2:
                try reader.expect(wireType, .fixed32, field: field)
                float = Float(bitPattern: try reader.readFixed32())
                type = type ?? 1
            case 3:
                try reader.expect(wireType, .varint, field: field)
                int = Int64(bitPattern: try reader.readVarint())
                type = type ?? 2
            case 4:
                try reader.expect(wireType, .lengthDelimited, field: field)
                string = try reader.readString(field: field)
                type = type ?? 3
            case 5:
                try reader.expect(wireType, .lengthDelimited, field: field)
                tensor = try self.tensor(reader.readLengthDelimited(field: field), "\(location).t")
                type = type ?? 4
            case 7:
                try readFloats(&reader, wireType, field: field, into: &floats)
                type = type ?? 6
            case 8:
                try reader.readInt64s(wireType, field: field, into: &ints)
                type = type ?? 7
            case 9:
                try reader.expect(wireType, .lengthDelimited, field: field)
                strings.append(try reader.readString(field: field))
                type = type ?? 8
            default:
                try reader.skip(wireType, field: field)
            }
        }
        let value: ONNXAttribute
        switch type {
        case 1: value = .float(float)
        case 2: value = .int(int)
        case 3: value = .string(string)
        case 4: value = tensor.map(ONNXAttribute.tensor) ?? .other
        case 6: value = .floats(floats)
        case 7: value = .ints(ints)
        case 8: value = .strings(strings)
        default: value = .other
        }
        return (name, value)
    }

    private func readFloats(_ reader: inout ProtobufReader, _ wireType: ProtobufReader.WireType, field: UInt64,
                            into values: inout [Float]) throws {
        if wireType == .fixed32 {
            values.append(Float(bitPattern: try reader.readFixed32()))
            return
        }
        try reader.expect(wireType, .lengthDelimited, field: field)
        var packed = ProtobufReader(bytes, range: try reader.readLengthDelimited(field: field))
        while !packed.isAtEnd { values.append(Float(bitPattern: try packed.readFixed32())) }
    }

    /// A `TensorProto`, with its data checked against its shape and element type.
    func tensor(_ range: Range<Int>, _ location: String) throws -> ONNXTensor {
        var name = "", dims: [Int64] = [], dataTypeCode: Int64 = 0, external = false, segmented = false
        var raw: Range<Int>?
        var fixedRanges: [Range<Int>] = [], fixedBytes: [UInt8] = [], integers: [Int64] = []
        try decode(range, location) { reader, field, wireType in
            switch field {
            case 1:
                try reader.readInt64s(wireType, field: field, into: &dims)
            case 2:
                try reader.expect(wireType, .varint, field: field)
                dataTypeCode = Int64(bitPattern: try reader.readVarint())
            case 3:
                segmented = true
                try reader.skip(wireType, field: field)
            case 8:
                try reader.expect(wireType, .lengthDelimited, field: field)
                name = try reader.readString(field: field)
            case 9:
                try reader.expect(wireType, .lengthDelimited, field: field)
                raw = try reader.readLengthDelimited(field: field)
            case 4, 10:
                // float_data (fixed32) and double_data (fixed64): packed runs stay ranges of the file.
                let unpacked: ProtobufReader.WireType = field == 4 ? .fixed32 : .fixed64
                if wireType == unpacked {
                    if field == 4 {
                        withUnsafeBytes(of: try reader.readFixed32().littleEndian) { fixedBytes += $0 }
                    } else {
                        withUnsafeBytes(of: try reader.readFixed64().littleEndian) { fixedBytes += $0 }
                    }
                } else {
                    try reader.expect(wireType, .lengthDelimited, field: field)
                    fixedRanges.append(try reader.readLengthDelimited(field: field))
                }
            case 5, 7, 11:
                try reader.readInt64s(wireType, field: field, into: &integers)
            case 14:
                try reader.expect(wireType, .varint, field: field)
                external = try reader.readVarint() == 1
            default:
                try reader.skip(wireType, field: field)
            }
        }
        let label = name.isEmpty ? location : name
        guard !external else {
            throw ONNXError.unsupportedTensor(file: file, tensor: label,
                                              reason: "its data is stored in an external file")
        }
        guard !segmented else {
            throw ONNXError.unsupportedTensor(file: file, tensor: label, reason: "segmented tensors are not supported")
        }
        guard let dataType = ONNXDataType(rawValue: dataTypeCode), let weightType = dataType.weightType else {
            throw ONNXError.unsupportedTensor(file: file, tensor: label,
                                              reason: "element type \(dataTypeCode) is not a numeric type Kinora reads")
        }
        if let bad = dims.first(where: { $0 < 0 || $0 > Int64(Int32.max) }) {
            throw ONNXError.malformed(file: file, location: location, reason: "dimension \(bad) is out of range")
        }
        return try finish(name: label, dataType: dataType, weightType: weightType, dims: dims, raw: raw,
                          fixedRanges: fixedRanges, fixedBytes: fixedBytes, integers: integers)
    }

    private func finish(name: String, dataType: ONNXDataType, weightType: WeightDType, dims: [Int64],
                        raw: Range<Int>?, fixedRanges: [Range<Int>], fixedBytes: [UInt8], integers: [Int64]) throws
        -> ONNXTensor
    {
        let shape = dims.map { Int($0) }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let storage: ONNXTensor.Storage
        if let raw {
            storage = .mapped(raw)
        } else if fixedRanges.count == 1, fixedBytes.isEmpty {
            storage = .mapped(fixedRanges[0])
        } else if !fixedRanges.isEmpty || !fixedBytes.isEmpty {
            storage = .owned(fixedRanges.flatMap { Array(UnsafeRawBufferPointer(rebasing: bytes[$0])) } + fixedBytes)
        } else {
            storage = .owned(Self.littleEndian(integers, size: weightType.size))
        }
        let tensor = ONNXTensor(name: name, dataType: dataType, shape: shape, storage: storage)
        let (expected, overflow) = count.multipliedReportingOverflow(by: weightType.size)
        guard !overflow, tensor.byteCount == expected else {
            throw ONNXError.tensorSizeMismatch(file: file, tensor: name, shape: shape, dataType: "\(dataType)",
                                               expectedBytes: overflow ? Int.max : expected,
                                               actualBytes: tensor.byteCount)
        }
        return tensor
    }

    /// Integers from a varint field, stored in `size` little-endian bytes each (ONNX keeps 8- and 16-bit types,
    /// float16 bits included, in `int32_data`).
    private static func littleEndian(_ values: [Int64], size: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(values.count * size)
        for value in values {
            let bits = UInt64(bitPattern: value)
            for byte in 0..<size { result.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(byte)))) }
        }
        return result
    }

    /// Runs `body` for each field of the message in `range`, turning wire-format faults into `ONNXError.malformed`.
    private func decode(_ range: Range<Int>, _ location: String,
                        _ body: (inout ProtobufReader, UInt64, ProtobufReader.WireType) throws -> Void) throws {
        var reader = ProtobufReader(bytes, range: range)
        do {
            while let (field, wireType) = try reader.nextField() {
                try body(&reader, field, wireType)
            }
        } catch let failure as ProtobufReader.Failure {
            throw ONNXError.malformed(file: file, location: location, reason: failure.description)
        }
    }
}
