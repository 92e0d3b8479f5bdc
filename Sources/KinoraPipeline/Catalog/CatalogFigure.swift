/// A number in the model catalog together with how it was obtained, so estimates are never mistaken for
/// measurements.
public struct CatalogFigure: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Where a figure comes from.
    public enum Basis: String, Sendable, Hashable, Codable, CaseIterable {
        /// Counted from the architecture (tensor shapes, file sizes).
        case exact
        /// Measured on a device (allocator peak, timing).
        case measured
        /// Derived or guessed; still to be measured.
        case estimate
    }

    public var value: Double
    public var basis: Basis
    public var note: String?

    public init(_ value: Double, basis: Basis, note: String? = nil) {
        self.value = value
        self.basis = basis
        self.note = note
    }

    /// The value as a byte count (rounded up).
    public var bytes: UInt64 { UInt64(value.rounded(.up)) }

    /// `value (basis)`.
    public var description: String { "\(YAMLField.format(value)) (\(basis.rawValue))" }

    static let keys = ["value", "basis", "note"]

    /// Reads `{value: N, basis: exact|measured|estimate, note: ...}`; with `bytes`, the value may carry a unit
    /// (`3.18 GiB`).
    init?(reading field: YAMLField, bytes: Bool = false) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        var value: Double?
        if let valueField = mapping.required("value"), let text = valueField.text() {
            if bytes, let amount = ByteAmount(parsing: text) {
                value = Double(amount.bytes)
            } else if let number = Double(text), number.isFinite, number >= 0 {
                value = number
            } else {
                valueField.fail("expected a non-negative number\(bytes ? " of bytes (such as 3.18 GiB)" : ""), "
                                + "got '\(text)'")
            }
        }
        let basis = mapping.required("basis")?.choice(Basis.allCases.map(\.rawValue))
        let note = mapping["note"].map { $0.string() }
        guard let value, let basis = basis.flatMap(Basis.init(rawValue:)), note != .some(nil) else { return nil }
        self.init(value, basis: basis, note: note ?? nil)
    }
}
