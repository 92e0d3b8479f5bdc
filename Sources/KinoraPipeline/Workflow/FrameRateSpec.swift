/// A frame rate as an exact fraction, so 29.97 fps is 30000/1001 rather than a rounded float.
public struct FrameRateSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public var numerator: Int
    public var denominator: Int

    public init(numerator: Int, denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// Frames per second.
    public var value: Double { Double(numerator) / Double(denominator) }

    /// `24` or `30000/1001`.
    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    /// The NTSC rates people write as decimals.
    static let ntsc: [String: FrameRateSpec] = [
        "23.976": FrameRateSpec(numerator: 24_000, denominator: 1001),
        "29.97": FrameRateSpec(numerator: 30_000, denominator: 1001),
        "59.94": FrameRateSpec(numerator: 60_000, denominator: 1001),
    ]

    /// Reads `24`, `12.5`, `23.976` (the NTSC fraction) or `30000/1001`; the rate must lie in 1...240.
    init?(reading field: YAMLField) {
        guard let text = field.text()?.trimmingCharacters(in: .whitespaces) else { return nil }
        var parsed: FrameRateSpec?
        if let ntsc = Self.ntsc[text] {
            parsed = ntsc
        } else if let whole = Int(text) {
            parsed = FrameRateSpec(numerator: whole, denominator: 1)
        } else if let decimal = Double(text), decimal.isFinite, (decimal * 1000).rounded() == decimal * 1000 {
            parsed = FrameRateSpec(numerator: Int((decimal * 1000).rounded()), denominator: 1000).reduced
        } else {
            let parts = text.split(separator: "/")
            if parts.count == 2, let numerator = Int(parts[0]), let denominator = Int(parts[1]), denominator > 0 {
                parsed = FrameRateSpec(numerator: numerator, denominator: denominator)
            }
        }
        guard let rate = parsed else {
            field.fail("expected a frame rate such as 24, 23.976 or 30000/1001, got '\(text)'")
            return nil
        }
        guard rate.numerator > 0, (1...240).contains(rate.value) else {
            field.fail("must be between 1 and 240 frames per second, got \(text)")
            return nil
        }
        self = rate
    }

    /// The fraction in lowest terms.
    var reduced: FrameRateSpec {
        var (a, b) = (numerator, denominator)
        while b != 0 { (a, b) = (b, a % b) }
        return FrameRateSpec(numerator: numerator / a, denominator: denominator / a)
    }
}
