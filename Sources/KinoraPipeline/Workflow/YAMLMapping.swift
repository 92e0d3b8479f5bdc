/// A YAML mapping whose keys have been checked against the allowed ones; values are looked up by key, and a
/// missing required key is reported at the mapping's own position.
struct YAMLMapping {
    let field: YAMLField
    let entries: [(key: String, value: YAMLField)]

    /// The value for `key`, or nil when it is absent or null.
    subscript(_ key: String) -> YAMLField? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    /// The value for `key`; reports it as missing when it is absent or null.
    func required(_ key: String) -> YAMLField? {
        guard let value = self[key] else {
            let path = field.path.isEmpty ? key : "\(field.path).\(key)"
            field.document.report(field.location, field: path, "missing required field '\(key)'")
            return nil
        }
        return value
    }

    /// Whether `key` is present (even as null).
    func contains(_ key: String) -> Bool { entries.contains { $0.key == key } }
}
