import Foundation

/// Seeded standard normals from the counter-based Philox4x32-10 generator and the Box–Muller transform.
///
/// Number g of the stream for `seed` comes from Philox block g / 4 (the 64-bit counter in the low two words,
/// the seed as the key, low word first) and lane g % 4: with u_j = ((bits_j >> 8) + 0.5) / 2^24 in (0, 1),
/// r = sqrt(-2 ln u_0), t = 2π u_1 (and likewise r', t' from u_2, u_3), lanes 0...3 are
/// r cos t, r sin t, r' cos t', r' sin t'. The GPU kernel (`random_normal.comp`) computes the same formula, so the
/// Philox bits are identical on every device and the normals agree to the precision of the device's log, sin
/// and cos (about 1e-6 relative; Vulkan itself only bounds sin/cos to 2^-11 absolute).
public enum PhiloxNormal {
    /// The Philox4x32-10 block for `counter` under `key`.
    public static func block(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for _ in 0..<10 {
            let product0 = UInt64(0xD251_1F53) * UInt64(c0)
            let product1 = UInt64(0xCD9E_8D57) * UInt64(c2)
            let high0 = UInt32(product0 >> 32), low0 = UInt32(truncatingIfNeeded: product0)
            let high1 = UInt32(product1 >> 32), low1 = UInt32(truncatingIfNeeded: product1)
            (c0, c1, c2, c3) = (high1 ^ c1 ^ k0, low1, high0 ^ c3 ^ k1, low0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Numbers `offset ..< offset + count` of the stream for `seed`, computed on the host in Float as the
    /// kernel does.
    public static func host(count: Int, seed: UInt64, offset: UInt64 = 0) -> [Float] {
        var result = [Float](repeating: 0, count: count)
        var element = 0
        var block = offset / 4
        var lane = Int(offset % 4)
        while element < count {
            let bits = Self.block(counter: (UInt32(truncatingIfNeeded: block), UInt32(block >> 32), 0, 0),
                                  key: (UInt32(truncatingIfNeeded: seed), UInt32(seed >> 32)))
            let normals = Self.normals(bits)
            while lane < 4, element < count {
                result[element] = normals[lane]
                element += 1
                lane += 1
            }
            lane = 0
            block &+= 1
        }
        return result
    }

    /// The four normals of one Philox block (Box–Muller on two pairs of uniforms).
    static func normals(_ bits: (UInt32, UInt32, UInt32, UInt32)) -> [Float] {
        func unit(_ word: UInt32) -> Float { (Float(word >> 8) + 0.5) * (1 / 16_777_216) }
        let twoPi = Float(6.2831853071795865)
        let radius0 = (-2 * Foundation.log(unit(bits.0))).squareRoot(), angle0 = twoPi * unit(bits.1)
        let radius1 = (-2 * Foundation.log(unit(bits.2))).squareRoot(), angle1 = twoPi * unit(bits.3)
        return [radius0 * Foundation.cos(angle0), radius0 * Foundation.sin(angle0),
                radius1 * Foundation.cos(angle1), radius1 * Foundation.sin(angle1)]
    }
}

/// Random tensors generated on the device.
extension Graph {
    static let randomThreads = 256

    /// Standard normals of `shape`, filled row-major with numbers `offset ..< offset + count` of the
    /// `PhiloxNormal` stream for `seed`: the same seed and offset give the same numbers on every device and run,
    /// whatever the workgroup size, and `PhiloxNormal.host` reproduces them on the CPU. Consecutive draws from
    /// one seed continue the stream by passing the previous offset plus its count.
    ///
    /// The numbers are drawn in f32 and stored in the activation type, rounded once, as diffusers' `randn_tensor`
    /// draws noise in f32 and returns it in the pipeline's dtype; a caller that keeps its noise f32 (a sampler's
    /// state) draws it inside `withActivations(.f32)`.
    public func randomNormal(shape: [Int], seed: UInt64, offset: UInt64 = 0) throws -> Value {
        try Tensor.validate(shape: shape, op: "randomNormal")
        let count = shape.reduce(1, *)
        guard count < Int(Int32.max) - 4 else {
            throw TensorError.invalidArgument(op: "randomNormal", reason: "\(count) elements exceed 2^31")
        }
        let skip = Int(offset % 4)
        let firstBlock = offset / 4
        let blocks = (count + skip + 3) / 4
        let call = KernelCall(
            shader: activationShader("random_normal"), specialization: [UInt32(Self.randomThreads)],
            pushConstants: [Launch.u32(count), UInt32(truncatingIfNeeded: seed), UInt32(seed >> 32),
                            UInt32(truncatingIfNeeded: firstBlock), UInt32(firstBlock >> 32), Launch.u32(skip)],
            groups: Launch.grid(count: blocks, local: Self.randomThreads), operands: [],
            work: Double(count) * 20, label: "randomNormal")
        return record(call, output: shape, dtype: activationDType)
    }
}
