import Foundation

/// A source of standard-normal noise for samplers: initial latents and the per-step noise of ancestral samplers.
public protocol NoiseSource {
    /// The next `count` standard-normal values, in the order a tensor of that many elements is filled.
    mutating func normal(count: Int) -> [Float]
}

/// PyTorch's CPU random stream: `torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed),
/// dtype=torch.float32)`, reproduced draw for draw so that a seed gives the reference's latents.
///
/// The generator is the Mersenne Twister `at::mt19937` (seeded from the low 32 bits of the seed, as torch does). For
/// a float32 tensor torch has two normal paths (`aten/src/ATen/native/cpu/DistributionTemplates.h`):
/// - 16 or more elements (`normal_fill`): one 24-bit uniform per element, then Box–Muller over blocks of 16 (the
///   first 8 uniforms give the radii, the next 8 the angles); when the size is not a multiple of 16 the last 16
///   elements are redrawn with 16 fresh uniforms and transformed again.
/// - fewer than 16 elements: `normal_distribution<double>`, two 53-bit uniforms (two 32-bit draws each) per pair,
///   `sqrt(-2 log1p(-u2))` and `2πu1` in double, the sine half cached in the generator for the next scalar draw.
///
/// torch itself computes the 16-wide Box–Muller two ways, which differ in the last bits of about 40% of the values
/// (up to ~2e-6 absolute): x86 builds running their AVX2 or AVX-512 kernels use the Cephes-style `log256_ps` /
/// `sincos256_ps` of `avx_mathfun.h` in float32 — ``BoxMuller/avx2`` reproduces that arithmetic exactly — while the
/// portable kernel (`ATEN_CPU_CAPABILITY=default`, ARM and Apple silicon) calls the C library's `logf`, `cosf`,
/// `sinf` — ``BoxMuller/scalar`` calls the same functions, so it is exact on the same C library (glibc here) and
/// within an ulp of other libraries' results elsewhere.
public struct TorchRandom: NoiseSource, Sendable {
    /// Which of torch's float32 Box–Muller kernels to reproduce for tensors of 16 or more elements.
    public enum BoxMuller: Sendable {
        /// x86 torch with its AVX2 / AVX-512 kernels (the usual desktop and server CPU).
        case avx2
        /// torch's portable scalar kernel (ARM, Apple silicon, `ATEN_CPU_CAPABILITY=default`).
        case scalar
    }

    /// The kernel whose numbers `normal(count:)` reproduces.
    public let boxMuller: BoxMuller
    private var state = [UInt32](repeating: 0, count: 624)
    private var next = 0
    private var cachedNormal: Double?

    /// The stream of `torch.Generator("cpu").manual_seed(seed)`.
    public init(seed: UInt64, boxMuller: BoxMuller = .avx2) {
        self.boxMuller = boxMuller
        state[0] = UInt32(truncatingIfNeeded: seed)
        for index in 1..<624 {
            let previous = state[index - 1]
            state[index] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(index)
        }
        next = 624
    }

    /// The next raw 32-bit output of the Mersenne Twister (`generator->random()`).
    public mutating func nextUInt32() -> UInt32 {
        if next == 624 { twist() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// Two outputs joined high word first (`generator->random64()`).
    public mutating func nextUInt64() -> UInt64 {
        let high = UInt64(nextUInt32())
        return high << 32 | UInt64(nextUInt32())
    }

    /// `torch.randn` of `count` float32 elements (a contiguous tensor of that many elements, any shape).
    public mutating func normal(count: Int) -> [Float] {
        guard count >= 16 else { return (0..<count).map { _ in Float(nextScalarNormal()) } }
        var data = (0..<count).map { _ in nextUniformFloat() }
        var start = 0
        while start + 16 <= count {
            transform16(&data, at: start)
            start += 16
        }
        if count % 16 != 0 {
            for index in (count - 16)..<count { data[index] = nextUniformFloat() }
            transform16(&data, at: count - 16)
        }
        return data
    }

    /// `uniform_real_distribution<float>(0, 1)`: the low 24 bits of one output over 2^24.
    private mutating func nextUniformFloat() -> Float {
        Float(nextUInt32() & 0xff_ffff) * (1.0 / 16_777_216.0)
    }

    /// `uniform_real_distribution<double>(0, 1)`: the low 53 bits of `random64()` over 2^53.
    private mutating func nextUniformDouble() -> Double {
        Double(nextUInt64() & 0x1f_ffff_ffff_ffff) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `normal_distribution<double>(0, 1)` with the generator's cached second sample.
    private mutating func nextScalarNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = nextUniformDouble()
        let u2 = nextUniformDouble()
        let radius = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = radius * Foundation.sin(theta)
        return radius * Foundation.cos(theta)
    }

    /// `normal_fill_16`: Box–Muller on 16 uniforms in place, with the selected kernel's float32 arithmetic.
    private func transform16(_ data: inout [Float], at start: Int) {
        for j in 0..<8 {
            let u1 = 1 - data[start + j]
            let u2 = data[start + j + 8]
            switch boxMuller {
            case .scalar:
                let radius = (-2 * Foundation.log(u1)).squareRoot()
                let theta = Float(2.0 * Double.pi * Double(u2))
                data[start + j] = radius * Foundation.cos(theta)
                data[start + j + 8] = radius * Foundation.sin(theta)
            case .avx2:
                let radius = (-2 * CephesFloat.log(u1)).squareRoot()
                let (sine, cosine) = CephesFloat.sinCos(Float(2.0 * Double.pi) * u2)
                data[start + j] = radius * cosine
                data[start + j + 8] = radius * sine
            }
        }
    }

    /// Regenerates the 624-word state (`mt19937::next_state`).
    private mutating func twist() {
        for index in 0..<624 {
            let mixed = (state[index] & 0x8000_0000) | (state[(index + 1) % 624] & 0x7fff_ffff)
            var value = state[(index + 397) % 624] ^ (mixed >> 1)
            if state[(index + 1) % 624] & 1 != 0 { value ^= 0x9908_b0df }
            state[index] = value
        }
        next = 0
    }
}

/// The float32 `log` and `sincos` of torch's `avx_mathfun.h` (Julien Pommier's Cephes ports), one lane at a time.
/// torch compiles them with FMA enabled and GCC's default `-ffp-contract=fast`, which fuses a multiply into the add
/// that uses it (the earlier multiply when both operands of the add are products); the same operations are fused
/// here, which makes the values come out bit for bit.
enum CephesFloat {
    private static func constant(_ value: Double) -> Float { Float(value) }

    static func log(_ input: Float) -> Float {
        guard input > 0 else { return .nan }
        var x = max(input, Float(bitPattern: 0x0080_0000))
        var e = Float(Int32(bitPattern: x.bitPattern >> 23) - 0x7f) + 1
        x = Float(bitPattern: (x.bitPattern & ~UInt32(0x7f80_0000)) | Float(0.5).bitPattern)
        let below = x < constant(0.707106781186547524)
        let tmp: Float = below ? x : 0
        x = x - 1
        e = e - (below ? 1 : 0)
        x = x + tmp
        let z = x * x
        var y = constant(7.0376836292E-2)
        for coefficient in [
            -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
            2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1,
        ] {
            y = constant(coefficient).addingProduct(y, x)
        }
        y = y * x
        y = (e * constant(-2.12194440e-4)).addingProduct(y, z)
        y = y.addingProduct(-z, 0.5)
        x = x + y
        return x.addingProduct(e, constant(0.693359375))
    }

    static func sinCos(_ input: Float) -> (sin: Float, cos: Float) {
        let signMask: UInt32 = 0x8000_0000
        var sinSign = input.bitPattern & signMask
        var x = Float(bitPattern: input.bitPattern & ~signMask)
        var j = Int32(x * constant(1.27323954473516))
        j = (j &+ 1) & ~1
        let y0 = Float(j)
        let swapSign = UInt32(bitPattern: (j & 4) << 29)
        let firstPolynomialForSine = (j & 2) == 0
        x = x.addingProduct(y0, constant(-0.78515625))
        x = x.addingProduct(y0, constant(-2.4187564849853515625e-4))
        x = x.addingProduct(y0, constant(-3.77489497744594108e-8))
        let cosSign = UInt32(bitPattern: (~(j &- 2) & 4) << 29)
        sinSign ^= swapSign

        let z = x * x
        var y = constant(-1.388731625493765E-003).addingProduct(constant(2.443315711809948E-005), z)
        y = constant(4.166664568298827E-002).addingProduct(y, z)
        y = y * z
        y = (-(z * 0.5)).addingProduct(y, z)
        y = y + 1

        var y2 = constant(8.3321608736E-3).addingProduct(constant(-1.9515295891E-4), z)
        y2 = constant(-1.6666654611E-1).addingProduct(y2, z)
        y2 = y2 * z
        y2 = x.addingProduct(y2, x)

        let sinFromSecond: Float = firstPolynomialForSine ? y2 : 0
        let sinFromFirst: Float = firstPolynomialForSine ? 0 : y
        let sine = sinFromFirst + sinFromSecond
        let cosine = (y - sinFromFirst) + (y2 - sinFromSecond)
        return (Float(bitPattern: sine.bitPattern ^ sinSign), Float(bitPattern: cosine.bitPattern ^ cosSign))
    }
}
