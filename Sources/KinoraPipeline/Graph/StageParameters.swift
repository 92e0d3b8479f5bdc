/// The settings a stage's result depends on, as typed values with one canonical text form (sorted keys, every value
/// length-prefixed), so equal settings always hash to the same cache key.
public struct StageParameters: Sendable, Hashable, Codable {
    /// One setting.
    public enum Value: Sendable, Hashable, Codable, CustomStringConvertible {
        case string(String)
        case int(Int)
        case number(Double)
        case bool(Bool)

        /// The value as written in plans and reports.
        public var description: String {
            switch self {
            case .string(let value): return value
            case .int(let value): return String(value)
            case .number(let value): return YAMLField.format(value)
            case .bool(let value): return value ? "true" : "false"
            }
        }

        /// A type tag and the value's shortest round-trip text.
        var canonical: String {
            switch self {
            case .string(let value): return "s" + Self.prefixed(value)
            case .int(let value): return "i" + Self.prefixed(String(value))
            case .number(let value): return "d" + Self.prefixed(String(value))
            case .bool(let value): return "b" + Self.prefixed(value ? "1" : "0")
            }
        }

        static func prefixed(_ text: String) -> String { "\(text.utf8.count):\(text)" }
    }

    public private(set) var values: [String: Value]

    public init(_ values: [String: Value] = [:]) {
        self.values = values
    }

    public subscript(_ key: String) -> Value? {
        get { values[key] }
        set { values[key] = newValue }
    }

    public func int(_ key: String) -> Int? {
        if case .int(let value) = values[key] { return value }
        return nil
    }

    public func number(_ key: String) -> Double? {
        switch values[key] {
        case .number(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    public func string(_ key: String) -> String? {
        if case .string(let value) = values[key] { return value }
        return nil
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let value) = values[key] { return value }
        return nil
    }

    /// Every key and value, sorted by key, each part length-prefixed so no two different parameter sets share it.
    public var canonical: String {
        values.keys.sorted().map { Value.prefixed($0) + (values[$0]?.canonical ?? "") }.joined()
    }
}
