/// How the matmul kernel stages its operands.
public enum MatmulStrategy: Sendable, CaseIterable {
    /// Tensor cores on GPUs of the cooperative-matrix tier once their kernel has passed its first-use check,
    /// shared-memory tiles on other GPUs, direct loads on CPU drivers (even those that offer cooperative matrices).
    case automatic
    /// Operand tiles staged through shared memory (GPUs).
    case sharedMemory
    /// Each thread loads its operands directly (CPU drivers, where caches do the tiling).
    case direct
    /// Tensor cores through `VK_KHR_cooperative_matrix` (f16 operands, f32 accumulation).
    case cooperativeMatrix
}

/// Matrix products: batched matmul and linear layers, weights read in their storage type (float8 decoded in the
/// kernels, times the weight's per-tensor scale).
extension Graph {
    /// A tile configuration for the matmul kernel (specialization constants).
    struct MatmulTile {
        var bm: Int, bn: Int, bk: Int, tm: Int, tn: Int
        var direct = false
        var threads: Int { (bm / tm) * (bn / tn) }

        /// Small tiles for thin products, large ones otherwise (as ggml's s/m/l warptiles). CPU drivers take the
        /// direct path: on lavapipe each barrier is a coroutine switch and CPU caches already tile, so skipping
        /// shared memory measured 1.7x faster (512³ f32: 2.2 vs 1.3 GFLOP/s).
        ///
        /// A direct tile gives each invocation 2 rows and the tile's 16 columns: every invocation of a workgroup reads
        /// the same `b` elements, so a CPU driver that finds loads uniform (Mesa 26's lavapipe) makes them one scalar
        /// load each instead of a gather per lane. There 512³ f16 ran at 24 GFLOP/s against 10–13 with 4×4 tiles
        /// over a 64×64 tile; Mesa 22's lavapipe, which gathers every load, ran both at about 5.
        ///
        /// A product of at most 4 rows (a decoding step's tokens) takes a tile of exactly its rows, each thread one
        /// column of them: every weight is read once for all rows instead of once per padded 32-row tile (MusicGen's
        /// step, 2 rows, did 16 times its work).
        static func choose(m: Int, n: Int, direct: Bool) -> MatmulTile {
            if m <= 4 { return MatmulTile(bm: m, bn: 64, bk: 16, tm: m, tn: 1, direct: direct) }
            if direct { return MatmulTile(bm: 128, bn: 16, bk: 16, tm: 2, tn: 16, direct: true) }
            if m <= 32 || n <= 32 { return MatmulTile(bm: 32, bn: 32, bk: 16, tm: 2, tn: 2, direct: direct) }
            return MatmulTile(bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, direct: direct)
        }
    }

    /// `a × b` over the last two axes, batched over the leading ones (b's batch may be 1 to broadcast).
    /// `a` is [..., M, K]; `b` is [..., K, N], or [..., N, K] when `transposeB`. `bias` has N elements.
    /// `a` and the result are activations (the activation type, f32 sums); `b` is read in its own storage type.
    public func matmul(_ a: Value, _ b: Value, transposeB: Bool = false, bias: Value? = nil) throws -> Value {
        try check(a, "matmul")
        try check(b, "matmul")
        guard a.rank >= 2, b.rank >= 2 else {
            throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape], reason: "operands need 2+ axes")
        }
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
        let kB = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        guard k == kB else {
            throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape],
                                            reason: "inner sizes \(k) and \(kB) differ")
        }
        let batchA = a.shape.dropLast(2).reduce(1, *)
        let batchB = b.shape.dropLast(2).reduce(1, *)
        guard batchB == batchA || batchB == 1 else {
            throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape],
                                            reason: "batch sizes \(batchA) and \(batchB) differ (b's may be 1)")
        }
        if let bias {
            try check(bias, "matmul")
            guard bias.count == n else {
                throw TensorError.shapeMismatch(op: "matmul", shapes: [b.shape, bias.shape],
                                                reason: "bias needs \(n) elements")
            }
        }
        let weight = try weightOperand(b, bias: bias)
        let operands = [KernelCall.Operand(value: try activation(a).id, access: .read),
                        KernelCall.Operand(value: b.id, access: .read),
                        KernelCall.Operand(value: (weight.bias ?? b).id, access: .read)]
        let pushConstants = [m, n, k, m * k, batchB == 1 ? 0 : n * k, m * n].map(Launch.u32)
            + [Launch.bits(weight.scale)]
        let work = 2 * Double(batchA) * Double(m) * Double(n) * Double(k)
        if transposeB, m <= Self.vectorRows, matmulStrategy != .cooperativeMatrix {
            // A few rows against a linear layer's [out, in] weights (a decoding step): every weight row read once,
            // contiguously, its column's partial sums met in shared memory.
            let columns = Self.vectorThreads / Self.vectorLanes
            let groups = (n + columns - 1) / columns
            let call = KernelCall(
                shader: activationShader("matmul_vector.\(weight.variant)"),
                specialization: [UInt32(Self.vectorThreads), 1, 1, UInt32(m), UInt32(Self.vectorLanes),
                                 bias == nil ? 0 : 1],
                pushConstants: pushConstants,
                groups: (UInt32(min(groups, 65535)), UInt32((groups + 65534) / 65535), UInt32(batchA)),
                operands: operands, work: work, label: "matmul")
            return record(call, output: Array(a.shape.dropLast()) + [n], dtype: activationDType)
        }
        if let plan = try cooperativeMatmulPlan(m: m, n: n, batch: batchA) {
            let call = KernelCall(
                shader: activationShader("matmul_coopmat.\(weight.variant)"), specialization: plan.specialization(
                    transposeB: transposeB, hasBias: bias != nil),
                pushConstants: pushConstants,
                groups: (UInt32((n + plan.bn - 1) / plan.bn), UInt32((m + plan.bm - 1) / plan.bm), UInt32(batchA)),
                operands: operands, work: work, label: "matmul", subgroupSize: UInt32(plan.subgroupSize))
            return record(call, output: Array(a.shape.dropLast()) + [n], dtype: activationDType)
        }
        let direct = matmulStrategy == .direct || (matmulStrategy == .automatic && device.physical.kind == .cpu)
        let tile = MatmulTile.choose(m: m, n: n, direct: direct)
        let call = KernelCall(
            shader: activationShader("matmul.\(weight.variant)"),
            specialization: [UInt32(tile.threads), 1, 1, UInt32(tile.bm), UInt32(tile.bn), UInt32(tile.bk),
                             UInt32(tile.tm), UInt32(tile.tn), transposeB ? 1 : 0, bias == nil ? 0 : 1,
                             tile.direct ? 1 : 0],
            pushConstants: pushConstants,
            groups: (UInt32((n + tile.bn - 1) / tile.bn), UInt32((m + tile.bm - 1) / tile.bm), UInt32(batchA)),
            operands: operands, work: work, label: "matmul")
        return record(call, output: Array(a.shape.dropLast()) + [n], dtype: activationDType)
    }

    /// The most rows the vector kernel takes (`matmul_vector.comp`). It sums each product in another order than the
    /// tiled kernel (8 lanes over k, then their partial sums), so a row's values agree with the same row computed
    /// among more rows to rounding, not bit for bit: code that splits rows into pieces and promises the whole's bits
    /// keeps its pieces above this.
    public static let vectorRows = 4
    /// The vector kernel's threads per workgroup and threads per output column.
    static let vectorThreads = 64
    static let vectorLanes = 8

    /// The tensor-core plan for `batch` products of m × n, or nil when the scalar kernels run them. Asked for
    /// explicitly, it has `cooperativeMatrixTile` or the per-product tile (throwing where the device cannot run it);
    /// automatically, it is there on GPUs of the cooperative-matrix tier (`GPUDevice.automaticTensorCores`) once the
    /// medium tile has passed its first-use check on this device, and has the large tile only where that passed its
    /// own check too.
    func cooperativeMatmulPlan(m: Int, n: Int, batch: Int) throws -> CooperativeMatrixPlan? {
        func plan() throws -> CooperativeMatrixPlan {
            if let tile = cooperativeMatrixTile { return try CooperativeMatrixPlan(device: device, tile: tile) }
            return try CooperativeMatrixPlan(device: device, m: m, n: n, batch: batch)
        }
        switch matmulStrategy {
        case .cooperativeMatrix:
            return try plan()
        case .automatic:
            guard device.automaticTensorCores, CooperativeMatrixCheck.passes(.matmul, on: device) else {
                return nil
            }
            let chosen = try plan()
            guard chosen.tile == .large, !CooperativeMatrixCheck.passes(.matmulLargeTile, on: device) else {
                return chosen
            }
            return try CooperativeMatrixPlan(device: device)
        case .sharedMemory, .direct:
            return nil
        }
    }

    /// A linear layer: `x · weightᵀ + bias` with `weight` [out, in] as stored by PyTorch, over x's last axis.
    public func linear(_ x: Value, weight: Value, bias: Value? = nil) throws -> Value {
        try check(x, "linear")
        try check(weight, "linear")
        guard weight.rank == 2, x.shape.last == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", shapes: [x.shape, weight.shape],
                                            reason: "weight must be [out, in] with in = x's last axis")
        }
        let rows = x.count / weight.shape[1]
        let flat = try reshape(x, [rows, weight.shape[1]])
        let product = try matmul(flat, weight, transposeB: true, bias: bias)
        return try reshape(product, Array(x.shape.dropLast()) + [weight.shape[0]])
    }
}
