import Foundation
import KinoraFormats
import KinoraTensor

/// Float8 for the tests and the conformance check, written independently of the library: decoding by the
/// weight-file reader's `HalfPrecision` (itself checked against PyTorch's table of all 256 bytes), rounding by
/// searching that table.
public enum Float8Mirror {
    /// The value of `byte` as a `dtype` float8, without a scale.
    public static func value(_ byte: UInt8, _ dtype: DType) -> Float {
        dtype == .f8e5m2 ? HalfPrecision.float(fromE5M2: byte) : HalfPrecision.float(fromE4M3: byte)
    }

    /// Whether `byte` is a finite value of `dtype`.
    public static func isFinite(_ byte: UInt8, _ dtype: DType) -> Bool {
        value(byte, dtype).isFinite
    }

    /// Every finite byte of `dtype`, in order.
    public static func finiteBytes(_ dtype: DType) -> [UInt8] {
        (0...255).map(UInt8.init).filter { isFinite($0, dtype) }
    }

    /// The nearest finite float8 value to `value` (ties to the even code), for values within the type's range.
    public static func rounded(_ value: Float, to dtype: DType) -> Float {
        var best: (distance: Double, byte: UInt8)?
        for byte in finiteBytes(dtype) {
            let distance = Swift.abs(Double(self.value(byte, dtype)) - Double(value))
            if let current = best, distance > current.distance || (distance == current.distance && byte & 1 == 1) {
                continue
            }
            best = (distance, byte)
        }
        let byte = best?.byte ?? 0
        let result = self.value(byte, dtype)
        // Zero keeps the sign of the value rounded to it.
        return result == 0 ? (value.sign == .minus ? -0.0 : 0.0) : result
    }
}
