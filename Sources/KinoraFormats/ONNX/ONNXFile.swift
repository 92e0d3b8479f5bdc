import Foundation

/// An ONNX model file opened by memory-mapping it: its initializers as a `WeightStore` (bytes handed out straight
/// from the mapping, no copies), and its nodes, so model loaders can find weights the exporter folded or renamed by
/// the node that consumes them. Kinora does not run ONNX graphs; it reads weights and export-time facts from them.
public final class ONNXFile: WeightStore {
    public let url: URL
    public let irVersion: Int64
    /// The exporter (`producer_name`), e.g. "pytorch".
    public let producer: String
    /// The version of the default ("ai.onnx") operator set, nil when the model does not import it.
    public let opsetVersion: Int64?
    public let nodes: [ONNXNode]
    /// The names of the graph's inputs and outputs.
    public let graphInputs: [String]
    public let graphOutputs: [String]
    public let initializers: [String: ONNXTensor]
    public let tensorNames: [String]
    private let mapping: MappedFile
    private let consumersByValue: [String: [Int]]
    private let producerByValue: [String: Int]

    public init(url: URL) throws {
        self.url = url
        mapping = try MappedFile(url: url)
        guard mapping.bytes.count > 0 else { throw ONNXError.notONNX(file: url.path, reason: "the file is empty") }
        let model = try ONNXParser(bytes: mapping.bytes, file: url.path).model()
        guard model.irVersion > 0 else {
            throw ONNXError.notONNX(file: url.path, reason: "ModelProto.ir_version is missing")
        }
        guard let graph = model.graph else {
            throw ONNXError.notONNX(file: url.path, reason: "ModelProto.graph is missing")
        }
        irVersion = model.irVersion
        producer = model.producer
        opsetVersion = model.opsets[""]
        nodes = graph.nodes
        graphInputs = graph.inputs
        graphOutputs = graph.outputs
        var initializers: [String: ONNXTensor] = [:]
        for tensor in graph.initializers {
            guard initializers.updateValue(tensor, forKey: tensor.name) == nil else {
                throw ONNXError.duplicateTensor(file: url.path, tensor: tensor.name)
            }
        }
        self.initializers = initializers
        tensorNames = initializers.keys.sorted()
        var consumers: [String: [Int]] = [:], producers: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(index) }
            for output in node.outputs where !output.isEmpty { producers[output] = index }
        }
        consumersByValue = consumers
        producerByValue = producers
    }

    public var sourceName: String { url.path }

    /// The initializer `name`.
    public func tensor(_ name: String) throws -> ONNXTensor {
        guard let tensor = initializers[name] else { throw ONNXError.missingTensor(file: url.path, tensor: name) }
        return tensor
    }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let tensor = try tensor(name)
        guard let dtype = tensor.dataType.weightType else {
            throw ONNXError.unsupportedTensor(file: url.path, tensor: name, reason: "\(tensor.dataType) data")
        }
        let range: Range<Int>
        switch tensor.storage {
        case .mapped(let bytes): range = bytes
        case .owned(let bytes): range = 0..<bytes.count
        }
        return WeightTensorInfo(name: name, dtype: dtype, shape: tensor.shape, dataRange: range)
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        try withBytes(of: tensor(name), body)
    }

    /// Calls `body` with the bytes of `tensor` (an initializer or a `Constant` node's value from this file).
    public func withBytes<Result>(of tensor: ONNXTensor, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        switch tensor.storage {
        case .mapped(let range): return try body(UnsafeRawBufferPointer(rebasing: mapping.bytes[range]))
        case .owned(let bytes): return try bytes.withUnsafeBytes(body)
        }
    }

    /// The nodes that read the value `name` (an initializer or another node's output), in graph order.
    public func consumers(of name: String) -> [ONNXNode] {
        (consumersByValue[name] ?? []).map { nodes[$0] }
    }

    /// The node that writes the value `name`, nil for graph inputs and initializers.
    public func producer(of name: String) -> ONNXNode? {
        producerByValue[name].map { nodes[$0] }
    }

    /// The node called `name` (as the exporter named it, e.g. "/dec/ups.0/ConvTranspose").
    public func node(named name: String) -> ONNXNode? {
        nodes.first { $0.name == name }
    }
}
