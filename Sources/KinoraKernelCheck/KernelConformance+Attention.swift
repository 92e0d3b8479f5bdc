import KinoraGPU
import KinoraReference
import KinoraTensor

/// Flash attention over head sizes the models use, several query and key tiles, an additive mask with hidden keys,
/// block-causal masking behind a cached prefix, and the heads-first layout: the shared-memory and direct kernels
/// everywhere, the tensor-core kernel where the device has `VK_KHR_cooperative_matrix`.
extension KernelConformance {
    static let attentionTolerance = 2e-5

    static func attentionCases(for device: GPUDevice) -> [ConformanceCase] {
        // What models run: tensor cores once their self-check passed on this device, else the scalar kernel.
        let automatic = attention(AttentionReference.Problem(batch: 1, heads: 2, queryLength: 70, keyLength: 130,
                                                             headDim: 64),
                                  masked: false, blockCausal: nil, strategy: .automatic,
                                  tolerance: device.automaticTensorCores ? tensorCoreTolerance
                                      : attentionTolerance)
        return scalarAttentionCases() + scalarAttentionCases(strategy: .direct) + [automatic]
            + cooperativeAttentionCases(for: device)
    }

    /// The problems every scalar kernel is checked on: the shared-memory one (`.scalar`) and the direct one.
    static func scalarAttentionCases(strategy: AttentionStrategy = .scalar) -> [ConformanceCase] {
        typealias Problem = AttentionReference.Problem
        let problems = [
            Problem(batch: 2, heads: 3, queryLength: 130, keyLength: 257, headDim: 64),
            Problem(batch: 1, heads: 3, queryLength: 33, keyLength: 7, headDim: 40),
            Problem(batch: 1, heads: 2, queryLength: 70, keyLength: 130, headDim: 128),
            Problem(batch: 1, heads: 2, queryLength: 9, keyLength: 20, headDim: 256),
        ]
        var cases = problems.map { attention($0, masked: false, blockCausal: nil, strategy: strategy) }
        cases.append(attention(Problem(batch: 2, heads: 3, queryLength: 33, keyLength: 70, headDim: 40), masked: true,
                               blockCausal: nil, strategy: strategy))
        cases.append(attention(Problem(batch: 1, heads: 2, queryLength: 65, keyLength: 130, headDim: 64),
                               masked: false, blockCausal: 16, strategy: strategy))
        cases.append(attention(Problem(batch: 1, heads: 2, queryLength: 20, keyLength: 70, headDim: 128),
                               masked: false, blockCausal: 8, storedKeys: 100, strategy: strategy))
        cases.append(headsFirstAttention(strategy: strategy))
        return cases
    }

    /// The kernel's word in a case's name; the scalar cases keep their names without one.
    static func name(of strategy: AttentionStrategy) -> String {
        switch strategy {
        case .automatic: "automatic"
        case .scalar: "scalar"
        case .direct: "direct"
        case .cooperativeMatrix: "cooperative-matrix"
        }
    }

    static func label(_ p: AttentionReference.Problem) -> String {
        "B\(p.batch) h\(p.heads) Lq\(p.queryLength) Lk\(p.keyLength) d\(p.headDim)"
    }

    /// Random [B, L, heads · D] operands for `p`: query, key, value.
    static func operands(_ p: AttentionReference.Problem, _ context: ConformanceContext)
        -> (q: [Float], k: [Float], v: [Float]) {
        (context.values(p.batch * p.queryLength * p.width, scale: 2),
         context.values(p.batch * p.keyLength * p.width, scale: 2), context.values(p.batch * p.keyLength * p.width))
    }

    /// With `masked`, an additive [B, 1, Lq, Lk] mask of small biases hides about a tenth of the keys. With
    /// `storedKeys` (batch 1 only) the keys and values hold that many rows of which attention reads the first Lk, as
    /// from a KV cache filled so far.
    static func attention(_ p: AttentionReference.Problem, masked: Bool, blockCausal: Int?, storedKeys: Int? = nil,
                          strategy: AttentionStrategy = .scalar, tolerance: Double = attentionTolerance)
        -> ConformanceCase {
        let variant = (masked ? " mask" : blockCausal.map { " block-causal \($0)" } ?? "")
            + (storedKeys.map { " of \($0) stored" } ?? "")
        let kernel = strategy == .scalar ? "" : "\(name(of: strategy)) "
        return ConformanceCase(name: "attention \(kernel)\(label(p))\(variant)", tolerance: tolerance) { context in
            let (q, k, v) = operands(p, context)
            let stored = storedKeys ?? p.keyLength
            let unread = context.values((stored - p.keyLength) * p.width, scale: 2)
            let maskShape = [p.batch, 1, p.queryLength, p.keyLength]
            let mask: [Float]? = masked
                ? context.values(maskShape.reduce(1, *), scale: 3).map { $0 > 2.4 ? -Float.infinity : $0 } : nil
            let graph = context.graph(attention: strategy)
            let y = try graph.attention(
                query: graph.input(q, shape: [p.batch, p.queryLength, p.width]),
                key: graph.input(k + unread, shape: [p.batch, stored, p.width]),
                value: graph.input(v + unread, shape: [p.batch, stored, p.width]), heads: p.heads,
                mask: try mask.map { try graph.input($0, shape: maskShape) }, blockCausal: blockCausal,
                keyLength: storedKeys == nil ? nil : p.keyLength)
            let additive = mask.map { values in
                { (b: Int, _: Int, i: Int, j: Int) in Double(values[(b * p.queryLength + i) * p.keyLength + j]) }
            }
            let expected = AttentionReference.attention(q, k, v, p, mask: additive, blockCausal: blockCausal)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        }
    }

    /// Query, key and value as [B, heads, L, D], as the video models lay them out.
    static func headsFirstAttention(headDim: Int = 40, strategy: AttentionStrategy = .scalar,
                                    tolerance: Double = attentionTolerance) -> ConformanceCase {
        let p = AttentionReference.Problem(batch: 2, heads: 3, queryLength: 33, keyLength: 70, headDim: headDim)
        let kernel = strategy == .scalar ? "" : "\(name(of: strategy)) "
        return ConformanceCase(name: "attention \(kernel)heads-first \(label(p))", tolerance: tolerance) { context in
            let (q, k, v) = operands(p, context)
            let permute = { (x: [Float], length: Int) in
                AttentionReference.headsFirst(x, batch: p.batch, length: length, heads: p.heads, headDim: p.headDim)
            }
            let graph = context.graph(attention: strategy)
            let y = try graph.attention(
                query: graph.input(permute(q, p.queryLength), shape: [p.batch, p.heads, p.queryLength, p.headDim]),
                key: graph.input(permute(k, p.keyLength), shape: [p.batch, p.heads, p.keyLength, p.headDim]),
                value: graph.input(permute(v, p.keyLength), shape: [p.batch, p.heads, p.keyLength, p.headDim]),
                heads: p.heads, layout: .headsFirst)
            let expected = permute(AttentionReference.attention(q, k, v, p).map(Float.init), p.queryLength)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected.map(Double.init))
        }
    }

    /// The tensor-core kernel on the same kinds of problems: head dims 64 and 128 as the models use, 40 and 36
    /// (zero-padded to the device's matrix shape), 256 (beyond a 32 KiB device's shared memory: the scalar kernel
    /// runs it), a mask, block-causal masking, a cache read in place, and the heads-first layout. Its operands are
    /// f16 (scores and probabilities rounded to f16 before each product), so it takes the tensor cores' tolerance.
    static func cooperativeAttentionCases(for device: GPUDevice) -> [ConformanceCase] {
        typealias Problem = AttentionReference.Problem
        let strategy = AttentionStrategy.cooperativeMatrix
        let tolerance = tensorCoreTolerance
        let problems = [
            Problem(batch: 2, heads: 3, queryLength: 130, keyLength: 257, headDim: 64),
            Problem(batch: 1, heads: 2, queryLength: 70, keyLength: 130, headDim: 128),
            Problem(batch: 1, heads: 3, queryLength: 33, keyLength: 7, headDim: 40),
            Problem(batch: 1, heads: 2, queryLength: 9, keyLength: 20, headDim: 36),
            Problem(batch: 1, heads: 2, queryLength: 9, keyLength: 20, headDim: 256),
        ]
        var cases = problems.map {
            attention($0, masked: false, blockCausal: nil, strategy: strategy, tolerance: tolerance)
        }
        cases.append(attention(Problem(batch: 2, heads: 3, queryLength: 33, keyLength: 70, headDim: 64), masked: true,
                               blockCausal: nil, strategy: strategy, tolerance: tolerance))
        cases.append(attention(Problem(batch: 1, heads: 2, queryLength: 65, keyLength: 130, headDim: 64),
                               masked: false, blockCausal: 16, strategy: strategy, tolerance: tolerance))
        cases.append(attention(Problem(batch: 1, heads: 2, queryLength: 20, keyLength: 70, headDim: 128),
                               masked: false, blockCausal: 8, storedKeys: 100, strategy: strategy,
                               tolerance: tolerance))
        cases.append(headsFirstAttention(headDim: 64, strategy: strategy, tolerance: tolerance))
        let skip = device.physical.features.cooperativeMatrix ? nil : "no VK_KHR_cooperative_matrix on this device"
        return cases.map { conformanceCase in
            var tensorCore = conformanceCase
            tensorCore.skipReason = skip
            return tensorCore
        }
    }
}
