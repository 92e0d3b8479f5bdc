import Foundation

/// Double-precision references for softmax and attention (the attention one builds the full score matrix).
public enum AttentionReference {
    /// Softmax along `axis` of a row-major tensor of `shape`; −inf entries weigh nothing, all −inf gives zeros.
    public static func softmax(_ x: [Float], shape: [Int], axis: Int) -> [Double] {
        let length = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var result = [Double](repeating: 0, count: x.count)
        for row in 0..<x.count / length {
            let indices = (0..<length).map { (row / inner) * length * inner + row % inner + $0 * inner }
            let values = indices.map { Double(x[$0]) }
            let maximum = values.max() ?? 0
            guard maximum > -.infinity else { continue }
            let weights = values.map { Foundation.exp($0 - maximum) }
            let sum = weights.reduce(0, +)
            for (index, weight) in zip(indices, weights) { result[index] = weight / sum }
        }
        return result
    }

    /// The shapes of one attention problem.
    public struct Problem: Sendable {
        public var batch: Int
        public var heads: Int
        public var queryLength: Int
        public var keyLength: Int
        public var headDim: Int
        public var width: Int { heads * headDim }

        public init(batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDim: Int) {
            (self.batch, self.heads, self.queryLength, self.keyLength, self.headDim) =
                (batch, heads, queryLength, keyLength, headDim)
        }
    }

    /// Naive attention on [B, L, heads · D] operands. `mask(b, h, i, j)` is added to the scaled scores; with
    /// `blockCausal` S, key j is hidden from query i unless j / S <= (i + Lk − Lq) / S. Rows seeing no key are zero.
    public static func attention(_ q: [Float], _ k: [Float], _ v: [Float], _ problem: Problem, scale: Double? = nil,
                                 mask: ((Int, Int, Int, Int) -> Double)? = nil, blockCausal: Int? = nil) -> [Double] {
        let (lq, lk, d, width) = (problem.queryLength, problem.keyLength, problem.headDim, problem.width)
        let factor = scale ?? 1 / Double(d).squareRoot()
        var out = [Double](repeating: 0, count: problem.batch * lq * width)
        for b in 0..<problem.batch {
            for h in 0..<problem.heads {
                for i in 0..<lq {
                    var scores = [Double](repeating: -.infinity, count: lk)
                    for j in 0..<lk {
                        if let block = blockCausal, j / block > (i + lk - lq) / block { continue }
                        var dot = 0.0
                        let queryBase = (b * lq + i) * width + h * d, keyBase = (b * lk + j) * width + h * d
                        for t in 0..<d { dot += Double(q[queryBase + t]) * Double(k[keyBase + t]) }
                        scores[j] = dot * factor + (mask?(b, h, i, j) ?? 0)
                    }
                    let maximum = scores.max() ?? -.infinity
                    guard maximum > -.infinity else { continue }
                    let weights = scores.map { Foundation.exp($0 - maximum) }
                    let sum = weights.reduce(0, +)
                    for t in 0..<d {
                        var value = 0.0
                        for j in 0..<lk { value += weights[j] * Double(v[(b * lk + j) * width + h * d + t]) }
                        out[(b * lq + i) * width + h * d + t] = value / sum
                    }
                }
            }
        }
        return out
    }

    /// [B, L, heads, D] → [B, heads, L, D].
    public static func headsFirst(_ x: [Float], batch: Int, length: Int, heads: Int, headDim: Int) -> [Float] {
        var result = [Float](repeating: 0, count: x.count)
        for b in 0..<batch {
            for l in 0..<length {
                for h in 0..<heads {
                    let source = ((b * length + l) * heads + h) * headDim
                    let destination = ((b * heads + h) * length + l) * headDim
                    for t in 0..<headDim { result[destination + t] = x[source + t] }
                }
            }
        }
        return result
    }
}
