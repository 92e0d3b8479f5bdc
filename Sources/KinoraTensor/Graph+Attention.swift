import KinoraGPU

/// Multi-head scaled-dot-product attention, tiled flash-style (`attention.comp`), or a row per invocation on CPU
/// drivers (`attention_direct.comp`).
extension Graph {
    /// How attention operands lay out their heads.
    public enum AttentionLayout: Sendable {
        /// [B, L, heads · D]: what linear projections produce; head h is the h-th D-wide slice of each token.
        case tokensFirst
        /// [B, heads, L, D].
        case headsFirst
    }

    /// Tiles of the attention kernel for a head dim: query rows per workgroup, key rows per streamed tile.
    /// Shared memory is BR·D + BC·(D+1) + BR·BC floats: at most about 17.5 KB for D ≤ 256.
    private static func attentionTile(headDim: Int) -> (rows: Int, columns: Int) {
        if headDim <= 64 { return (32, 16) }
        if headDim <= 128 { return (16, 16) }
        return (8, 8)
    }

    static let attentionThreads = 128
    /// Query rows per workgroup of the direct kernel (one per invocation), and the keys it scores between two
    /// updates of its online softmax.
    static let directAttentionRows = 16
    static let directAttentionKeyBlock = 8
    /// The largest head dim the direct kernel runs with its loops over the head dim unrolled on `device`: 64 (SD 1.5's
    /// first level and SDXL's heads), which Mesa 22's lavapipe (LLVM 15) compiled in about 1 s at 40 but 16 s at 128;
    /// 128 (Wan's heads) where the driver compiles with LLVM 19 or later, as Mesa 26's lavapipe does: there the
    /// unrolled d128 kernel ran L512 h4 at 28.1 ms against the rolled loops' 271.1 ms, its compile adding about 1.2 s
    /// to the first call (`kinora bench kernels --filter attention --attention direct`).
    static func directAttentionUnrolledHeadDim(on device: GPUDevice) -> Int {
        directAttentionUnrolledHeadDim(llvmMajorVersion: device.physical.llvmMajorVersion)
    }

    /// The same for a driver compiling with LLVM `llvmMajorVersion` (nil: not a CPU driver, or one that does not say).
    static func directAttentionUnrolledHeadDim(llvmMajorVersion: Int?) -> Int {
        (llvmMajorVersion ?? 0) >= 19 ? 128 : 64
    }
    /// The largest head dim the kernel supports.
    public static let maxAttentionHeadDim = 256

    /// `softmax(q·kᵀ · scale + mask) · v` per head, without materialising the score matrix.
    ///
    /// - Parameters:
    ///   - query: [B, Lq, heads · D] (`.tokensFirst`) or [B, heads, Lq, D] (`.headsFirst`).
    ///   - key, value: [B, Lk, heads · D] or [B, heads, Lk, D]; Lk may differ from Lq (cross-attention).
    ///   - heads: number of heads; D (≤ 256) is the head dim.
    ///   - scale: multiplies the scores; 1/√D when nil.
    ///   - mask: an additive mask (−inf hides a key) broadcastable to [B, heads, Lq, Lk]: rank 2 to 4, aligned from
    ///     the last axis, each axis equal to the full size or 1; its last axis must be Lk.
    ///   - blockCausal: a chunk size S: query i sees key j only if j / S <= (i + Lk − Lq) / S. With Lk > Lq the
    ///     keys start with a KV-cache prefix and query i sits at position Lk − Lq + i; Lk < Lq is rejected.
    ///   - layout: the layout of all three operands and of the result.
    ///   - keyLength: attend to the first this many keys and values only (a cache filled so far, read in place);
    ///     nil: all of them. The mask's last axis and the block-causal rule go by this length.
    /// - Returns: the attention output in the operands' layout: [B, Lq, heads · D] or [B, heads, Lq, D]. A query
    ///   row that sees no key (every score −inf) gives zeros.
    ///
    /// Query, key, value and the result are activations: read and written in the activation type, with f32 scores,
    /// softmax and accumulation. A key or value stored in another type (a KV cache kept in f32 under f16
    /// activations, say) is cast first; a cache stored in the activation type is read in place.
    public func attention(query: Value, key: Value, value: Value, heads: Int, scale: Float? = nil,
                          mask: Value? = nil, blockCausal: Int? = nil, layout: AttentionLayout = .tokensFirst,
                          keyLength usedKeys: Int? = nil)
        throws -> Value {
        for operand in [query, key, value] { try check(operand, "attention") }
        guard heads > 0 else {
            throw TensorError.invalidArgument(op: "attention", reason: "heads must be positive, got \(heads)")
        }
        let shapes = [query.shape, key.shape, value.shape]
        let batch: Int, queryLength: Int, storedKeys: Int, headDim: Int
        switch layout {
        case .tokensFirst:
            guard query.rank == 3, key.rank == 3, key.shape == value.shape, query.shape[0] == key.shape[0],
                  query.shape[2] == key.shape[2] else {
                throw TensorError.shapeMismatch(op: "attention", shapes: shapes,
                                                reason: "expected query [B, Lq, H·D] and key, value [B, Lk, H·D]")
            }
            guard query.shape[2] % heads == 0 else {
                throw TensorError.shapeMismatch(op: "attention", shapes: shapes,
                                                reason: "width \(query.shape[2]) does not split into \(heads) heads")
            }
            (batch, queryLength, storedKeys, headDim) = (query.shape[0], query.shape[1], key.shape[1],
                                                         query.shape[2] / heads)
        case .headsFirst:
            guard query.rank == 4, key.rank == 4, key.shape == value.shape, query.shape[0] == key.shape[0],
                  query.shape[1] == heads, key.shape[1] == heads, query.shape[3] == key.shape[3] else {
                throw TensorError.shapeMismatch(op: "attention", shapes: shapes,
                                                reason: "expected query [B, \(heads), Lq, D] and key, value "
                                                    + "[B, \(heads), Lk, D]")
            }
            (batch, queryLength, storedKeys, headDim) = (query.shape[0], query.shape[2], key.shape[2], query.shape[3])
        }
        let keyLength = usedKeys ?? storedKeys
        guard (1...storedKeys).contains(keyLength) else {
            throw TensorError.invalidArgument(op: "attention", reason: "key length \(keyLength) must be "
                + "1...\(storedKeys), the keys stored")
        }
        guard headDim <= Self.maxAttentionHeadDim else {
            throw TensorError.invalidArgument(op: "attention",
                                              reason: "head dim \(headDim) exceeds \(Self.maxAttentionHeadDim)")
        }
        if let blockCausal {
            guard blockCausal > 0 else {
                throw TensorError.invalidArgument(op: "attention", reason: "block size \(blockCausal) must be positive")
            }
            guard keyLength >= queryLength else {
                throw TensorError.shapeMismatch(op: "attention", shapes: shapes,
                                                reason: "block-causal attention needs Lk >= Lq (keys end with the "
                                                    + "queries)")
            }
        }
        let tile = Self.attentionTile(headDim: headDim)
        let queryBlocks = (queryLength + tile.rows - 1) / tile.rows
        guard queryBlocks <= 65535, heads <= 65535, batch <= 65535 else {
            throw TensorError.invalidArgument(op: "attention", reason: "grid of \(queryBlocks) query blocks, "
                + "\(heads) heads, \(batch) batches exceeds 65535 workgroups per axis")
        }

        // Element strides (batch, head, row) of a tensor of `length` rows in this layout.
        func strides(length: Int) -> [Int] {
            switch layout {
            case .tokensFirst: return [length * heads * headDim, headDim, heads * headDim]
            case .headsFirst: return [heads * length * headDim, length * headDim, headDim]
            }
        }
        let q = try activation(query), k = try activation(key), v = try activation(value)
        // The mask stays f32 (its −inf and large negative biases); without one, any operand fills the binding.
        var maskOperand = q
        var maskStrides = [0, 0, 0]
        if let mask {
            try check(mask, "attention")
            let full = [batch, heads, queryLength, keyLength]
            let padded = [Int](repeating: 1, count: max(0, 4 - mask.rank)) + mask.shape
            guard mask.rank >= 2, mask.rank <= 4, mask.shape.last == keyLength,
                  zip(padded, full).allSatisfy({ $0 == $1 || $0 == 1 }) else {
                throw TensorError.shapeMismatch(op: "attention", shapes: [mask.shape, full],
                                                reason: "mask must broadcast to [B, heads, Lq, Lk] with last axis Lk")
            }
            maskStrides = Array(Self.broadcastStrides(padded).prefix(3))
            maskOperand = try cast(mask, to: .f32)
        }
        let pushConstants = [queryLength, keyLength].map(Launch.u32) + [Launch.bits(scale ?? 1 / Float(headDim)
            .squareRoot())] + (strides(length: queryLength) + strides(length: storedKeys) + strides(length: queryLength)
            + maskStrides + [blockCausal ?? 1, max(0, keyLength - queryLength)]).map(Launch.u32)
        if let plan = try cooperativeAttentionPlan(headDim: headDim) {
            return try recordCooperativeAttention(
                plan, query: q, key: k, value: v, mask: mask == nil ? nil : maskOperand,
                blockCausal: blockCausal != nil, pushConstants: pushConstants, grid: (queryLength, heads, batch),
                work: 4 * Double(batch * heads) * Double(queryLength) * Double(keyLength) * Double(headDim))
        }
        let work = 4 * Double(batch * heads) * Double(queryLength) * Double(keyLength) * Double(headDim)
        let operands = [q, k, v, maskOperand].map { KernelCall.Operand(value: $0.id, access: .read) }
        if attentionStrategy == .direct || (attentionStrategy == .automatic && device.physical.kind == .cpu) {
            let rowBlocks = (queryLength + Self.directAttentionRows - 1) / Self.directAttentionRows
            guard rowBlocks <= 65535 else {
                throw TensorError.invalidArgument(op: "attention", reason: "grid of \(rowBlocks) query blocks "
                    + "exceeds 65535 workgroups")
            }
            let call = KernelCall(
                shader: activationShader(headDim <= Self.directAttentionUnrolledHeadDim(on: device)
                    ? "attention_direct.unrolled" : "attention_direct.rolled"),
                specialization: [UInt32(Self.directAttentionRows), 1, 1, UInt32(headDim),
                                 UInt32(Self.directAttentionKeyBlock), 0, mask == nil ? 0 : 1,
                                 blockCausal == nil ? 0 : 1],
                pushConstants: pushConstants, groups: (UInt32(rowBlocks), UInt32(heads), UInt32(batch)),
                operands: operands, work: work, label: "attention")
            return record(call, output: query.shape, dtype: activationDType)
        }
        let call = KernelCall(
            shader: activationShader("attention"),
            specialization: [UInt32(Self.attentionThreads), 1, 1, UInt32(headDim), UInt32(tile.rows),
                             UInt32(tile.columns), mask == nil ? 0 : 1, blockCausal == nil ? 0 : 1],
            pushConstants: pushConstants,
            groups: (UInt32(queryBlocks), UInt32(heads), UInt32(batch)),
            operands: operands, work: work, label: "attention")
        return record(call, output: query.shape, dtype: activationDType)
    }
}
