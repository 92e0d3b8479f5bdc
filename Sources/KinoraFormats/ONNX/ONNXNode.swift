/// One node of an ONNX graph (`NodeProto`): the operator, the names of the values it reads and writes, and its
/// attributes. Kinora does not interpret graphs; models read nodes to find folded weights by the node that consumes
/// them and to learn hyper-parameters (dilations, strides) that the export recorded as attributes.
public struct ONNXNode: Sendable, Equatable {
    public let name: String
    public let opType: String
    public let inputs: [String]
    public let outputs: [String]
    public let attributes: [String: ONNXAttribute]

    public init(name: String, opType: String, inputs: [String], outputs: [String],
                attributes: [String: ONNXAttribute]) {
        self.name = name
        self.opType = opType
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// An integer-list attribute (`dilations`, `strides`, `pads`), nil when absent or of another type.
    public func ints(_ attribute: String) -> [Int64]? {
        if case .ints(let values) = attributes[attribute] { return values }
        return nil
    }

    /// An integer attribute (`group`, `axis`), nil when absent or of another type.
    public func int(_ attribute: String) -> Int64? {
        if case .int(let value) = attributes[attribute] { return value }
        return nil
    }

    /// A float attribute (`alpha`), nil when absent or of another type.
    public func float(_ attribute: String) -> Float? {
        if case .float(let value) = attributes[attribute] { return value }
        return nil
    }
}

/// The value of one node attribute (`AttributeProto`); graph-valued and sparse attributes are kept as `.other`.
public enum ONNXAttribute: Sendable, Equatable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    case other
}
