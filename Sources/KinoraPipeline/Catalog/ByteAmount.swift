import Foundation

/// A number of bytes, read from and written as people write memory sizes: `6GB` (10⁹), `6 GiB` (2³⁰), `512MiB`,
/// `1.5 GB` or a plain count.
public struct ByteAmount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var bytes: UInt64

    public init(_ bytes: UInt64) {
        self.bytes = bytes
    }

    private static let units: [(String, Double)] = [
        ("kib", 1024), ("mib", 1_048_576), ("gib", 1_073_741_824), ("tib", 1_099_511_627_776),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("k", 1024), ("m", 1_048_576), ("g", 1_073_741_824),
        ("b", 1),
    ]

    /// Reads `6GB`, `6 GiB`, `0.5 TiB`, `512MiB`, `123456`; decimal units (kB, MB, GB, TB) are powers of 10, binary
    /// ones (KiB, MiB, GiB, TiB, or the bare K, M, G of `--vram 6G`) powers of 2. Nil for anything else.
    public init?(parsing text: String) {
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "_", with: "")
        var scale = 1.0
        var digits = lowered
        for (suffix, factor) in Self.units where lowered.hasSuffix(suffix) {
            digits = String(lowered.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            scale = factor
            break
        }
        guard let value = Double(digits), value.isFinite, value >= 0, value * scale < 1.8e19 else { return nil }
        self.init(UInt64((value * scale).rounded()))
    }

    /// Binary units with two decimals: `3.18 GiB`, `240.0 KiB`, `512 B`.
    public var description: String {
        let value = Double(bytes)
        for (unit, factor) in [("TiB", 1_099_511_627_776.0), ("GiB", 1_073_741_824.0), ("MiB", 1_048_576.0),
                               ("KiB", 1024.0)] where value >= factor {
            return String(format: "%.2f", value / factor) + " " + unit
        }
        return "\(bytes) B"
    }

    public static func < (lhs: ByteAmount, rhs: ByteAmount) -> Bool { lhs.bytes < rhs.bytes }
}
