import Foundation

/// A frame rate as an exact fraction of frames per second, such as 24000/1001 for NTSC film.
public struct FrameRate: Sendable, Equatable, CustomStringConvertible {
    /// Frames.
    public let numerator: Int
    /// Decimals at or above this are refused rather than scaled by 1000 past what `Int` holds.
    private static let largestDecimal = 1_000_000.0
    /// Per this many seconds.
    public let denominator: Int

    /// A rate of `numerator / denominator` frames per second; both must be positive and, once reduced, fit the
    /// 32-bit fractions FFmpeg's time bases are made of.
    public init(_ numerator: Int, _ denominator: Int = 1) throws {
        guard numerator > 0, denominator > 0 else { throw MediaError.invalidFrameRate("\(numerator)/\(denominator)") }
        let divisor = Self.gcd(numerator, denominator)
        let terms = 1...Int(Int32.max)
        try ValueBounds.check(numerator / divisor, "the frame rate \(numerator)/\(denominator)'s numerator", in: terms)
        try ValueBounds.check(denominator / divisor, "the frame rate \(numerator)/\(denominator)'s denominator",
                              in: terms)
        self.numerator = numerator / divisor
        self.denominator = denominator / divisor
    }

    /// Parses "30", "24000/1001" or a decimal such as "29.97" (read as 30000/1001) or "12.5". Decimals are read to
    /// a thousandth of a frame and must be below a million frames per second.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let num = Int(parts[0]), let den = Int(parts[1]), num > 0, den > 0 {
            try self.init(num, den)
        } else if parts.count == 1, let whole = Int(trimmed), whole > 0 {
            try self.init(whole)
        } else if parts.count == 1, let value = Double(trimmed), value > 0, value < Self.largestDecimal {
            for ntsc in [24, 30, 48, 60, 120] where abs(value - Double(ntsc) * 1000 / 1001) < 0.006 {
                try self.init(ntsc * 1000, 1001)
                return
            }
            try self.init(Int((value * 1000).rounded()), 1000)
        } else {
            throw MediaError.invalidFrameRate(text)
        }
    }

    /// Frames per second as a floating-point number.
    public var framesPerSecond: Double { Double(numerator) / Double(denominator) }

    /// The duration of `frames` frames in seconds.
    public func duration(ofFrames frames: Int) -> Double { Double(frames * denominator) / Double(numerator) }

    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
