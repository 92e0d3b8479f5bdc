import Foundation

/// An ncnn model: the `.param` layer graph and the weights of its `.bin`, read the way ncnn's `ModelBin` reads them
/// (layer by layer, in graph order, each buffer tagged fp16, int8, fp32 or table-quantized, 4-byte aligned). The
/// weights are a `WeightStore` named `<layer>.weight`, `<layer>.bias`, `<layer>.slope`, … in their file dtype (F16
/// buffers stay F16, straight from the mapping). Kinora runs the networks it knows (Real-ESRGAN's) on its own ops;
/// this type only reads and checks.
public final class NCNNModel: WeightStore {
    public let paramURL: URL
    public let binURL: URL
    public let layers: [NCNNLayer]
    public let tensorNames: [String]
    private let tensors: [String: NCNNModelBuffer]
    private let mapping: MappedFile

    /// The largest `.param` text read (Real-ESRGAN x4plus's is 116 KB).
    static let maximumParamBytes = 64 << 20

    public init(paramURL: URL, binURL: URL) throws {
        self.paramURL = paramURL
        self.binURL = binURL
        let param = try MappedFile(url: paramURL)
        let text: String? = withExtendedLifetime(param) {
            param.bytes.count <= Self.maximumParamBytes ? String(validating: param.bytes, as: UTF8.self) : nil
        }
        guard let text else {
            throw NCNNError.malformedParam(
                file: paramURL.path, line: 1, reason: "not UTF-8 text of at most \(Self.maximumParamBytes) bytes")
        }
        layers = try NCNNParamParser.parse(text, file: paramURL.path)
        mapping = try MappedFile(url: binURL)
        var reader = WeightReader(bytes: mapping.bytes, file: binURL.path)
        var tensors: [String: NCNNModelBuffer] = [:]
        var names: [String] = []
        for layer in layers {
            for (suffix, buffer) in try Self.weights(of: layer, reader: &reader, paramFile: paramURL.path) {
                let name = "\(layer.name).\(suffix)"
                tensors[name] = buffer
                names.append(name)
            }
        }
        guard reader.position == mapping.bytes.count else {
            throw NCNNError.weightsMismatch(
                file: binURL.path, layer: layers.last?.name ?? "",
                reason: "\(mapping.bytes.count - reader.position) bytes are left after the last layer's weights")
        }
        self.tensors = tensors
        tensorNames = names.sorted()
    }

    public var sourceName: String { binURL.path }

    /// The layer called `name`.
    public func layer(named name: String) -> NCNNLayer? { layers.first { $0.name == name } }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let buffer = try buffer(name)
        let range: Range<Int>
        switch buffer.storage {
        case .mapped(let mapped): range = mapped
        case .owned(let bytes): range = 0..<bytes.count
        }
        return WeightTensorInfo(name: name, dtype: buffer.dtype, shape: buffer.shape, dataRange: range)
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        switch try buffer(name).storage {
        case .mapped(let range): return try body(UnsafeRawBufferPointer(rebasing: mapping.bytes[range]))
        case .owned(let bytes): return try bytes.withUnsafeBytes(body)
        }
    }

    private func buffer(_ name: String) throws -> NCNNModelBuffer {
        guard let buffer = tensors[name] else { throw WeightsError.missingTensor(file: binURL.path, tensor: name) }
        return buffer
    }

    // MARK: Reading the .bin

    /// The named buffers `layer` loads from the `.bin`, in the order ncnn loads them.
    private static func weights(of layer: NCNNLayer, reader: inout WeightReader, paramFile: String) throws
        -> [(String, NCNNModelBuffer)]
    {
        let p = layer.parameters
        func unsupported(_ reason: String) -> NCNNError {
            .unsupportedLayer(file: paramFile, layer: layer.name, type: layer.type, reason: reason)
        }
        func integer(_ id: Int, _ what: String, default fallback: Int = 0) throws -> Int {
            guard let value = p.int(id, default: fallback), value >= 0 else {
                throw unsupported("parameter \(id) (\(what)) must be a non-negative integer")
            }
            return value
        }
        switch layer.type {
        case "Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise":
            let outputs = try integer(0, "num_output")
            let size = try integer(6, "weight_data_size")
            let kernelW = try integer(1, "kernel_w")
            let kernelH = try integer(11, "kernel_h", default: kernelW)
            guard try integer(8, "int8_scale_term") == 0 else { throw unsupported("int8 quantized weights") }
            // dynamic_weight is parameter 19 of convolutions and 28 of deconvolutions (where 19 is output_pad_bottom).
            let dynamicWeight = layer.type.hasPrefix("Deconvolution") ? 28 : 19
            guard try integer(dynamicWeight, "dynamic_weight") == 0 else {
                throw unsupported("weights given as an input")
            }
            let (kernel, overflow) = kernelW.multipliedReportingOverflow(by: kernelH)
            let (perOutput, overflow2) = kernel.multipliedReportingOverflow(by: outputs)
            guard !overflow, !overflow2, perOutput > 0, size % perOutput == 0 else {
                throw unsupported("weight_data_size \(size) is not num_output × kernel × kernel × inputs")
            }
            let weight = try reader.tagged(count: size, shape: [outputs, size / perOutput, kernelH, kernelW], layer)
            guard try integer(5, "bias_term") != 0 else { return [("weight", weight)] }
            return [("weight", weight), ("bias", try reader.floats(count: outputs, shape: [outputs], layer))]
        case "InnerProduct":
            let outputs = try integer(0, "num_output")
            let size = try integer(2, "weight_data_size")
            guard try integer(8, "int8_scale_term") == 0 else { throw unsupported("int8 quantized weights") }
            guard outputs > 0, size % outputs == 0 else {
                throw unsupported("weight_data_size \(size) is not a multiple of num_output \(outputs)")
            }
            let weight = try reader.tagged(count: size, shape: [outputs, size / outputs], layer)
            guard try integer(1, "bias_term") != 0 else { return [("weight", weight)] }
            return [("weight", weight), ("bias", try reader.floats(count: outputs, shape: [outputs], layer))]
        case "PReLU":
            let count = try integer(0, "num_slope")
            return [("slope", try reader.floats(count: count, shape: [count], layer))]
        case "BatchNorm":
            let channels = try integer(0, "channels")
            return try ["slope", "mean", "variance", "bias"].map {
                ($0, try reader.floats(count: channels, shape: [channels], layer))
            }
        case "Scale":
            guard let count = p.int(0), count != -233 else { return [] }
            guard count >= 0 else { throw unsupported("scale_data_size must be a non-negative integer") }
            let scale = try reader.floats(count: count, shape: [count], layer)
            guard try integer(1, "bias_term") != 0 else { return [("scale", scale)] }
            return [("scale", scale), ("bias", try reader.floats(count: count, shape: [count], layer))]
        case "Padding":
            let count = try integer(6, "per_channel_pad_data_size")
            guard count > 0 else { return [] }
            return [("per_channel_pad", try reader.floats(count: count, shape: [count], layer))]
        case _ where weightlessLayers.contains(layer.type):
            return []
        default:
            throw unsupported("an unknown layer type, so its weights (if any) cannot be located in the .bin")
        }
    }

    /// Layer types that load nothing from the `.bin`.
    static let weightlessLayers: Set<String> = [
        "Input", "Split", "Concat", "Slice", "Eltwise", "BinaryOp", "UnaryOp", "Interp", "PixelShuffle", "Reorg",
        "Crop", "Pooling", "ReLU", "Clip", "Sigmoid", "TanH", "Swish", "HardSwish", "HardSigmoid", "Mish",
        "GELU", "ELU", "Softmax", "Reshape", "Permute", "Flatten", "Dropout", "Noop", "Exp", "Log", "Power",
    ]
}

/// One weight buffer of the `.bin`: a range of the mapping, or values decoded from a quantization table.
private struct NCNNModelBuffer {
    enum Storage {
        case mapped(Range<Int>)
        case owned([UInt8])
    }

    let dtype: WeightDType
    let shape: [Int]
    let storage: Storage

    init(dtype: WeightDType, shape: [Int], range: Range<Int>) {
        (self.dtype, self.shape, storage) = (dtype, shape, .mapped(range))
    }

    init(dtype: WeightDType, shape: [Int], owned: [UInt8]) {
        (self.dtype, self.shape, storage) = (dtype, shape, .owned(owned))
    }
}

/// Sequential reads of ncnn weight buffers from the mapped `.bin`, with every length checked.
private struct WeightReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var position = 0

    private static func aligned(_ count: Int) -> Int { (count + 3) & ~3 }

    private mutating func take(_ count: Int, _ layer: NCNNLayer, _ what: String) throws -> Range<Int> {
        guard count >= 0, count <= bytes.count - position else {
            throw NCNNError.weightsMismatch(
                file: file, layer: layer.name,
                reason: "its \(what) needs \(count) bytes at offset \(position) but the file has \(bytes.count)")
        }
        defer { position += count }
        return position..<(position + count)
    }

    /// `count` raw float32 values (ncnn's load type 1: biases, slopes, statistics).
    mutating func floats(count: Int, shape: [Int], _ layer: NCNNLayer) throws -> NCNNModelBuffer {
        let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow else {
            throw NCNNError.weightsMismatch(file: file, layer: layer.name, reason: "a size overflows")
        }
        return NCNNModelBuffer(dtype: .f32, shape: shape, range: try take(bytesNeeded, layer, "float32 data"))
    }

    /// `count` values behind a 4-byte tag (ncnn's load type 0: convolution and linear weights).
    mutating func tagged(count: Int, shape: [Int], _ layer: NCNNLayer) throws -> NCNNModelBuffer {
        let tagRange = try take(4, layer, "weight tag")
        let tag = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: tagRange.lowerBound, as: UInt32.self))
        let (doubled, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow else {
            throw NCNNError.weightsMismatch(file: file, layer: layer.name, reason: "a size overflows")
        }
        switch tag {
        case 0x0130_6B47:  // float16
            let range = try take(Self.aligned(count * 2), layer, "float16 weights")
            return NCNNModelBuffer(dtype: .f16, shape: shape, range: range.lowerBound..<(range.lowerBound + count * 2))
        case 0x000D_4B38:
            throw NCNNError.unsupportedLayer(
                file: file, layer: layer.name, type: layer.type, reason: "int8 weights are not supported")
        case 0x0002_C056, 0:  // float32 ("with extra scaling" is read as plain float32 by ncnn too)
            return NCNNModelBuffer(dtype: .f32, shape: shape, range: try take(doubled, layer, "float32 weights"))
        default:
            // Any other non-zero tag: a 256-entry float table and one index byte per value.
            let table = try take(256 * 4, layer, "quantization table")
            let indices = try take(Self.aligned(count), layer, "quantized weights")
            var values = [UInt8]()
            values.reserveCapacity(count * 4)
            for index in indices.prefix(count) {
                let entry = table.lowerBound + Int(bytes[index]) * 4
                values.append(contentsOf: bytes[entry..<(entry + 4)])
            }
            return NCNNModelBuffer(dtype: .f32, shape: shape, owned: values)
        }
    }
}
