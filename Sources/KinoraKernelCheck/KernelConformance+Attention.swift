import KinoraReference
import KinoraTensor

/// Flash attention over head sizes the models use, several query and key tiles, an additive mask with hidden keys,
/// block-causal masking behind a cached prefix, and the heads-first layout.
extension KernelConformance {
    static let attentionTolerance = 2e-5

    static func attentionCases() -> [ConformanceCase] {
        typealias Problem = AttentionReference.Problem
        let problems = [
            Problem(batch: 2, heads: 3, queryLength: 130, keyLength: 257, headDim: 64),
            Problem(batch: 1, heads: 3, queryLength: 33, keyLength: 7, headDim: 40),
            Problem(batch: 1, heads: 2, queryLength: 70, keyLength: 130, headDim: 128),
            Problem(batch: 1, heads: 2, queryLength: 9, keyLength: 20, headDim: 256),
        ]
        var cases = problems.map { attention($0, masked: false, blockCausal: nil) }
        cases.append(attention(Problem(batch: 2, heads: 3, queryLength: 33, keyLength: 70, headDim: 40), masked: true,
                               blockCausal: nil))
        cases.append(attention(Problem(batch: 1, heads: 2, queryLength: 65, keyLength: 130, headDim: 64),
                               masked: false, blockCausal: 16))
        cases.append(headsFirstAttention())
        return cases
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

    /// With `masked`, an additive [B, 1, Lq, Lk] mask of small biases hides about a tenth of the keys.
    static func attention(_ p: AttentionReference.Problem, masked: Bool, blockCausal: Int?) -> ConformanceCase {
        let variant = masked ? " mask" : blockCausal.map { " block-causal \($0)" } ?? ""
        return ConformanceCase(name: "attention \(label(p))\(variant)", tolerance: attentionTolerance) { context in
            let (q, k, v) = operands(p, context)
            let maskShape = [p.batch, 1, p.queryLength, p.keyLength]
            let mask: [Float]? = masked
                ? context.values(maskShape.reduce(1, *), scale: 3).map { $0 > 2.4 ? -Float.infinity : $0 } : nil
            let graph = context.graph()
            let y = try graph.attention(
                query: graph.input(q, shape: [p.batch, p.queryLength, p.width]),
                key: graph.input(k, shape: [p.batch, p.keyLength, p.width]),
                value: graph.input(v, shape: [p.batch, p.keyLength, p.width]), heads: p.heads,
                mask: try mask.map { try graph.input($0, shape: maskShape) }, blockCausal: blockCausal)
            let additive = mask.map { values in
                { (b: Int, _: Int, i: Int, j: Int) in Double(values[(b * p.queryLength + i) * p.keyLength + j]) }
            }
            let expected = AttentionReference.attention(q, k, v, p, mask: additive, blockCausal: blockCausal)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        }
    }

    /// Query, key and value as [B, heads, L, D], as the video models lay them out.
    static func headsFirstAttention() -> ConformanceCase {
        let p = AttentionReference.Problem(batch: 2, heads: 3, queryLength: 33, keyLength: 70, headDim: 40)
        return ConformanceCase(name: "attention heads-first \(label(p))", tolerance: attentionTolerance) { context in
            let (q, k, v) = operands(p, context)
            let permute = { (x: [Float], length: Int) in
                AttentionReference.headsFirst(x, batch: p.batch, length: length, heads: p.heads, headDim: p.headDim)
            }
            let graph = context.graph()
            let y = try graph.attention(
                query: graph.input(permute(q, p.queryLength), shape: [p.batch, p.heads, p.queryLength, p.headDim]),
                key: graph.input(permute(k, p.keyLength), shape: [p.batch, p.heads, p.keyLength, p.headDim]),
                value: graph.input(permute(v, p.keyLength), shape: [p.batch, p.heads, p.keyLength, p.headDim]),
                heads: p.heads, layout: .headsFirst)
            let expected = permute(AttentionReference.attention(q, k, v, p).map(Float.init), p.queryLength)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected.map(Double.init))
        }
    }
}
