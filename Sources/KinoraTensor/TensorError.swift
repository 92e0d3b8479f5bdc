/// Errors from recording or running tensor operations.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Operand shapes that the operation cannot combine.
    case shapeMismatch(op: String, shapes: [[Int]], reason: String)
    /// An operand of a storage type the operation does not accept.
    case dtypeMismatch(op: String, dtypes: [DType], reason: String)
    /// A parameter out of range (axis, stride, group count...).
    case invalidArgument(op: String, reason: String)
    /// Host data whose length does not match the shape.
    case dataLength(expected: Int, got: Int)
    /// A value used in a graph it does not belong to.
    case foreignValue(op: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let op, let shapes, let reason):
            return "\(op): shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not fit: \(reason)"
        case .dtypeMismatch(let op, let dtypes, let reason):
            return "\(op): dtypes \(dtypes.map(\.rawValue).joined(separator: ", ")) do not fit: \(reason)"
        case .invalidArgument(let op, let reason):
            return "\(op): \(reason)"
        case .dataLength(let expected, let got):
            return "tensor data has \(got) elements but its shape needs \(expected)"
        case .foreignValue(let op):
            return "\(op): a value from another graph was passed"
        }
    }
}
