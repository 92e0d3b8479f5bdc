/// One layer line of an ncnn `.param` file: `Type name bottomCount topCount bottoms… tops… id=value…`.
public struct NCNNLayer: Sendable, Equatable {
    public let type: String
    public let name: String
    /// The blobs this layer reads, by name.
    public let bottoms: [String]
    /// The blobs this layer writes, by name.
    public let tops: [String]
    public let parameters: NCNNParameters
}

/// A layer's `id=value` parameters. ncnn numbers them 0–31; `-23300 - id=count,v1,v2,…` gives an array. A value
/// with a `.` or an exponent is a float, any other an integer, as ncnn's own reader decides.
public struct NCNNParameters: Sendable, Equatable {
    /// One parameter value.
    public enum Value: Sendable, Equatable {
        case int(Int)
        case float(Float)
        case ints([Int])
        case floats([Float])
    }

    /// The highest parameter id ncnn allows.
    public static let maximumID = 31

    public let values: [Int: Value]

    public init(values: [Int: Value]) {
        self.values = values
    }

    /// The integer parameter `id`, or `default` when absent; nil when present but not an integer.
    public func int(_ id: Int, default fallback: Int = 0) -> Int? {
        switch values[id] {
        case nil: return fallback
        case .int(let value): return value
        default: return nil
        }
    }

    /// The float parameter `id` (an integer is read as a float), or `default` when absent.
    public func float(_ id: Int, default fallback: Float = 0) -> Float? {
        switch values[id] {
        case nil: return fallback
        case .float(let value): return value
        case .int(let value): return Float(value)
        default: return nil
        }
    }

    /// The array parameter `id` as floats, or `default` when absent.
    public func floats(_ id: Int, default fallback: [Float] = []) -> [Float]? {
        switch values[id] {
        case nil: return fallback
        case .floats(let values): return values
        case .ints(let values): return values.map(Float.init)
        default: return nil
        }
    }
}
