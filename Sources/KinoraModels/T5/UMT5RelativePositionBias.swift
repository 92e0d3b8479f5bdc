import Foundation
import KinoraGPU
import KinoraTensor

/// UMT5's relative position bias (`UMT5Attention.compute_bias`), given to the attention as its additive mask: the
/// distance `j − i` from query `i` to key `j` falls into one of `relative_attention_num_buckets` buckets, and each
/// layer's `relative_attention_bias` table [buckets, heads] gives every head a learned score per bucket. UMT5 has
/// a table in every layer (T5 shares layer 0's).
///
/// The buckets are worked out on the host with transformers' float32 steps. The bias itself is gathered on the
/// device as a product with a 0/1 selector (bucket b of every (i, j), [buckets, L·L], shared by all layers):
/// tableᵀ [heads, buckets] × selector gives [heads, L·L], each entry exactly one table value (kept off tensor cores,
/// whose f16 operands would round it), so no layer's [heads, L, L] bias is ever held on the host or uploaded.
struct UMT5RelativePositionBias {
    let numBuckets: Int
    let maxDistance: Int

    init(configuration: UMT5Config) {
        numBuckets = configuration.relativeAttentionNumBuckets
        maxDistance = configuration.relativeAttentionMaxDistance
    }

    /// The score transformers adds for a masked key: `torch.finfo(torch.float32).min`. Added to a bias of any
    /// realistic size it stays exactly this value, as `torch.where(mask, position_bias, min)` gives.
    static let maskedScore = -Float.greatestFiniteMagnitude

    /// transformers' `UMT5Attention._relative_position_bucket` for the encoder (bidirectional): half the buckets
    /// for keys after the query, half for the rest; in each half, distances below a quarter of the buckets get a
    /// bucket each, longer ones a logarithmic bucket up to `maxDistance`, where they clamp.
    ///
    /// The logarithmic bucket repeats transformers' float32 arithmetic: `distance.float() / max_exact`, its log,
    /// divided by `float32(math.log(max_distance / max_exact))` (the quotient in float64, rounded), times
    /// `half − max_exact`, truncated toward zero. The log is correctly rounded; torch's CPU log (MKL's on x86) is
    /// within an ulp of it, which moves a bucket only where the exact ratio lands on a bucket boundary: never for
    /// UMT5's 32 buckets and max distance 128 (checked up to distance 2¹⁷ by the fixture script).
    static func bucket(_ relativePosition: Int, numBuckets: Int, maxDistance: Int) -> Int {
        let half = numBuckets / 2
        let side = relativePosition > 0 ? half : 0
        let distance = relativePosition.magnitude
        let maxExact = half / 2
        if distance < UInt(maxExact) { return side + Int(distance) }
        let ratio = Float(distance) / Float(maxExact)
        let logRatio = Float(Foundation.log(Double(ratio)))
        let logRange = Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
        let scaled = logRatio / logRange * Float(half - maxExact)
        return side + min(maxExact + Int(scaled), half - 1)
    }

    /// The bucket of every (query i, key j) of a length-L sequence, as a 0/1 matrix [buckets, L·L] (row b has 1
    /// at i·L + j where bucket(j − i) = b), in f16: exact for 0 and 1, half the bytes.
    func selector(length: Int, on graph: Graph) throws -> Value {
        try graph.input(selectorValues(length: length), shape: [numBuckets, length * length], dtype: .f16)
    }

    /// `selector`'s values, row-major.
    func selectorValues(length: Int) -> [Float] {
        let buckets = (-(length - 1)...(length - 1)).map {
            Self.bucket($0, numBuckets: numBuckets, maxDistance: maxDistance)
        }
        var values = [Float](repeating: 0, count: numBuckets * length * length)
        for query in 0..<length {
            for key in 0..<length {
                values[buckets[key - query + length - 1] * length * length + query * length + key] = 1
            }
        }
        return values
    }

    /// The additive padding mask [B, 1, 1, L] for `attentionMask` (0 where a key is attended, `maskedScore` where
    /// it is padding), or nil when every key of every prompt is attended.
    static func paddingMask(_ attentionMask: [[Int]]) -> (values: [Float], shape: [Int])? {
        guard attentionMask.contains(where: { $0.contains(0) }) else { return nil }
        let values = attentionMask.flatMap { row in row.map { $0 == 0 ? maskedScore : 0 } }
        return (values, [attentionMask.count, 1, 1, attentionMask[0].count])
    }

    /// One layer's attention mask for `length` tokens: its bias table [buckets, heads] gathered by `selector`
    /// into [1, heads, L, L], plus `padding` [B, 1, 1, L] when given (then [B, heads, L, L]).
    func attentionMask(_ graph: Graph, table: Value, selector: Value, length: Int, padding: Value?) throws -> Value {
        let heads = table.shape[1]
        // Tensor cores take f16 operands and would round the table; the gather must give its values exactly.
        let strategy = graph.matmulStrategy
        if strategy == .cooperativeMatrix || (strategy == .automatic && graph.device.automaticTensorCores) {
            graph.matmulStrategy = .sharedMemory
        }
        defer { graph.matmulStrategy = strategy }
        let bias = try graph.matmul(graph.transpose(table, 0, 1), selector)
        let mask = try graph.reshape(bias, [1, heads, length, length])
        guard let padding else { return mask }
        return try graph.add(mask, padding)
    }
}
