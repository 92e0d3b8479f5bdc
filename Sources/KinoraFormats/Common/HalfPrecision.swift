/// Conversions between `Float` and the 16-bit float encodings found in weight files. Written out by hand because
/// `Float16` is not available on every platform Kinora builds for.
public enum HalfPrecision {
    /// IEEE 754 binary16 bits to `Float`, exact for every input including subnormals, infinities and NaN.
    public static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0x1f {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    }

    /// `Float` to binary16 bits, rounding to nearest even; overflow becomes infinity, NaN stays NaN.
    public static func half(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xff)
        let mantissa = bits & 0x7f_ffff
        if exponent == 0xff {
            return sign | 0x7c00 | (mantissa == 0 ? 0 : 0x200)
        }
        let halfExponent = exponent - 112
        if halfExponent >= 0x1f {
            return sign | 0x7c00
        }
        if halfExponent <= 0 {
            if halfExponent < -10 {
                return sign
            }
            let full = mantissa | 0x80_0000
            let shift = UInt32(14 - halfExponent)
            return sign | UInt16(roundShift(full, by: shift))
        }
        let rounded = roundShift(UInt32(halfExponent) << 23 | mantissa, by: 13)
        return sign | UInt16(rounded)
    }

    /// float8 e4m3fn bits to `Float` (PyTorch's `float8_e4m3fn`, safetensors' `F8_E4M3`): bias 7, no infinities, NaN
    /// only for all-ones exponent and mantissa, largest finite ±448. Exact for every input.
    public static func float(fromE4M3 bits: UInt8) -> Float {
        let negative = bits & 0x80 != 0
        let exponent = Int(bits >> 3) & 0xF
        let mantissa = Float(bits & 0x7)
        let magnitude: Float
        if exponent == 0xF && bits & 0x7 == 0x7 {
            return negative ? -.nan : .nan
        } else if exponent == 0 {
            magnitude = mantissa * 0x1p-9
        } else {
            magnitude = (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        }
        return negative ? -magnitude : magnitude
    }

    /// float8 e5m2 bits to `Float` (`float8_e5m2`, `F8_E5M2`): the upper byte of an IEEE binary16, infinities and NaN
    /// included. Exact for every input.
    public static func float(fromE5M2 bits: UInt8) -> Float {
        float(fromHalf: UInt16(bits) << 8)
    }

    /// bfloat16 bits to `Float` (the upper half of a binary32).
    public static func float(fromBFloat bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `Float` to bfloat16 bits, rounding to nearest even; NaN stays NaN.
    public static func bfloat(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            return UInt16(bits >> 16) | 0x40
        }
        return UInt16(truncatingIfNeeded: roundShift(bits, by: 16))
    }

    private static func roundShift(_ value: UInt32, by shift: UInt32) -> UInt32 {
        let half = UInt32(1) << (shift - 1)
        let remainder = value & ((UInt32(1) << shift) - 1)
        var result = value >> shift
        if remainder > half || (remainder == half && result & 1 == 1) {
            result += 1
        }
        return result
    }
}
