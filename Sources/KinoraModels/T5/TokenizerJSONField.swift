import KinoraFormats

/// A value of a `tokenizer.json` with the path that reached it (`model.vocab[3]`), so every complaint about the file
/// names the file and the exact place.
struct TokenizerJSONField {
    let value: JSONValue
    let path: String
    let file: String

    func malformed(_ reason: String) -> T5TokenizerError {
        .malformed(file: file, field: path, reason: reason)
    }

    func unsupported(_ reason: String) -> T5TokenizerError {
        .unsupported(file: file, field: path, reason: reason)
    }

    var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    /// The member `key` of this object, or nil when it is absent.
    func member(_ key: String) throws(T5TokenizerError) -> TokenizerJSONField? {
        guard case .object(let members) = value else { throw malformed("expected an object, found \(value.kind)") }
        guard let found = members.first(where: { $0.key == key }) else { return nil }
        return TokenizerJSONField(value: found.value, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    /// The member `key`, which must be present.
    func required(_ key: String) throws(T5TokenizerError) -> TokenizerJSONField {
        guard let found = try member(key) else { throw malformed("the member '\(key)' is missing") }
        return found
    }

    func string() throws(T5TokenizerError) -> String {
        guard case .string(let text) = value else { throw malformed("expected a string, found \(value.kind)") }
        return text
    }

    func bool() throws(T5TokenizerError) -> Bool {
        guard case .bool(let flag) = value else { throw malformed("expected a boolean, found \(value.kind)") }
        return flag
    }

    func double() throws(T5TokenizerError) -> Double {
        switch value {
        case .number(let number): return number
        case .integer(let integer): return Double(integer)
        default: throw malformed("expected a number, found \(value.kind)")
        }
    }

    func integer() throws(T5TokenizerError) -> Int {
        guard case .integer(let integer) = value else { throw malformed("expected an integer, found \(value.kind)") }
        return integer
    }

    func array() throws(T5TokenizerError) -> [TokenizerJSONField] {
        guard case .array(let elements) = value else { throw malformed("expected an array, found \(value.kind)") }
        return elements.enumerated().map { TokenizerJSONField(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// The `type` member of a component object (normalizer, pre-tokenizer, model, post-processor).
    func componentType() throws(T5TokenizerError) -> String {
        try required("type").string()
    }

    /// An optional boolean member, `fallback` when absent.
    func flag(_ key: String, default fallback: Bool) throws(T5TokenizerError) -> Bool {
        guard let found = try member(key), !found.isNull else { return fallback }
        return try found.bool()
    }
}
