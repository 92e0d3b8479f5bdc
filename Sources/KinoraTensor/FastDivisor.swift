/// A divisor that kernels divide by with a multiply and a shift (`fast_divide` in `common.glsl`) instead of an
/// integer division, which CPUs have no vector instruction for and GPUs run as a long sequence.
///
/// For every dividend n below 2³¹, n / d = (mulhi(n, multiplier) + n) >> shift, where shift = ⌈log₂ d⌉ and
/// multiplier = ⌊2³² · (2^shift − d) / d⌋ + 1: Granlund and Montgomery's division by invariant integers using
/// multiplication (PLDI 1994). Element indices stay below 2³¹ because no binding holds more than 4 GiB of 16-bit or
/// wider elements.
struct FastDivisor: Equatable {
    let divisor: Int
    let multiplier: UInt32
    let shift: UInt32

    /// The largest divisor (and, above, the largest dividend) the identity holds for.
    static let limit = Int(Int32.max)

    init(_ divisor: Int) {
        precondition(divisor >= 1 && divisor <= Self.limit, "a fast divisor is in 1...2³¹ − 1, not \(divisor)")
        var shift = 0
        while 1 << shift < divisor { shift += 1 }
        self.divisor = divisor
        self.shift = UInt32(shift)
        multiplier = UInt32((UInt64(1) << 32) * UInt64((1 << shift) - divisor) / UInt64(divisor) + 1)
    }

    /// `n / divisor` as the kernels compute it (for n < 2³¹).
    func divide(_ n: UInt32) -> UInt32 {
        (UInt32((UInt64(n) * UInt64(multiplier)) >> 32) &+ n) >> shift
    }
}
