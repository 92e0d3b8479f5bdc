import KinoraMedia

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

    /// The rates a workflow may ask for, in frames per second: those `kinora encode --fps` takes.
    static let allowedRange = ValueBounds.framesPerSecond

    /// Reads `24`, `12.5`, `23.976` (the NTSC fraction) or `30000/1001` with KinoraMedia's `FrameRate(parsing:)`;
    /// the rate must lie in `allowedRange`.
    init?(reading field: YAMLField) {
        guard let text = field.text()?.trimmingCharacters(in: .whitespaces) else { return nil }
        let (low, high) = (Int(Self.allowedRange.lowerBound), Int(Self.allowedRange.upperBound))
        let rangeMessage = "must be between \(low) and \(high) frames per second, got \(text)"
        // A decimal is range-checked before it is parsed: a huge one such as 1e30 would not fit an integer fraction.
        if let decimal = Double(text), decimal.isFinite, !Self.allowedRange.contains(decimal) {
            field.fail(rangeMessage)
            return nil
        }
        let rate: FrameRate
        do {
            rate = try FrameRate(parsing: text)
        } catch MediaError.outOfRange {
            // A fraction whose terms do not fit FFmpeg's 32-bit time base is far outside the range.
            field.fail(rangeMessage)
            return nil
        } catch {
            field.fail("expected a frame rate such as 24, 23.976 or 30000/1001, got '\(text)'")
            return nil
        }
        guard Self.allowedRange.contains(rate.framesPerSecond) else {
            field.fail(rangeMessage)
            return nil
        }
        self.init(numerator: rate.numerator, denominator: rate.denominator)
    }
}
