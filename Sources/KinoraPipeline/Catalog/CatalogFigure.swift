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
    /// An activation figure's value when the component's activations are 16-bit (fp16 or bf16), where it was
    /// measured so; nil: `value`, measured with f32 activations, stands for every precision (it covers the 16-bit
    /// ones, which plan fewer bytes).
    public var half: Double?
    public var basis: Basis
    public var note: String?

    public init(_ value: Double, half: Double? = nil, basis: Basis, note: String? = nil) {
        self.value = value
        self.half = half
        self.basis = basis
        self.note = note
    }

    /// The value for a component whose activations are 16-bit (`halfActivations`) or not.
    public func value(halfActivations: Bool) -> Double {
        halfActivations ? half ?? value : value
    }

    /// The value as a byte count (rounded up).
    public var bytes: UInt64 { UInt64(value.rounded(.up)) }

    /// `value (basis)`, or `value, half N (basis)`.
    public var description: String {
        YAMLField.format(value) + (half.map { ", half \(YAMLField.format($0))" } ?? "") + " (\(basis.rawValue))"
    }

    static let keys = ["value", "basis", "note"]

    /// Reads `{value: N, basis: exact|measured|estimate, note: ...}`; with `bytes`, the value may carry a unit
    /// (`3.18 GiB`). With `allowsHalf` (an activation figure) it may also give `half: N`, the value with 16-bit
    /// activations, which may not exceed `value`.
    init?(reading field: YAMLField, bytes: Bool = false, allowsHalf: Bool = false) {
        guard let mapping = field.mapping(Self.keys + (allowsHalf ? ["half"] : [])) else { return nil }
        let value = mapping.required("value").flatMap { Self.number($0, bytes: bytes) }
        var half = mapping["half"].map { Self.number($0, bytes: bytes) }
        if let value, let given = half ?? nil, given > value, let halfField = mapping["half"] {
            halfField.fail("the value with 16-bit activations (\(YAMLField.format(given))) exceeds the f32 one "
                           + "(\(YAMLField.format(value))): half-width activations never plan more")
            half = .some(nil)
        }
        let basis = mapping.required("basis")?.choice(Basis.allCases.map(\.rawValue))
        let note = mapping["note"].map { $0.string() }
        guard let value, half != .some(nil), let basis = basis.flatMap(Basis.init(rawValue:)), note != .some(nil)
        else { return nil }
        self.init(value, half: half ?? nil, basis: basis, note: note ?? nil)
    }

    /// A figure's number: non-negative and finite; with `bytes`, it may carry a unit (`3.18 GiB`).
    private static func number(_ field: YAMLField, bytes: Bool) -> Double? {
        guard let text = field.text() else { return nil }
        if bytes, let amount = ByteAmount(parsing: text) { return Double(amount.bytes) }
        if let number = Double(text), number.isFinite, number >= 0 { return number }
        field.fail("expected a non-negative number\(bytes ? " of bytes (such as 3.18 GiB)" : ""), got '\(text)'")
        return nil
    }
}
