import KinoraGPU

/// The launch geometry of `attention_coopmat.comp` for one device and head dim: the device's f16×f16→f32 matrix
/// shape, the head dim padded to a multiple of it, and query rows and key columns per tile that fit shared memory.
struct CooperativeAttentionPlan {
    static let subgroups = 4
    let headDim: Int
    let paddedDim: Int
    let rows: Int
    let columns: Int
    let shape: (m: Int, n: Int, k: Int)
    let subgroupSize: Int

    /// Throws on a device without cooperative matrices; nil when even the smallest tiles of this head dim exceed the
    /// device's shared memory (the scalar kernel then runs).
    init?(device: GPUDevice, headDim: Int) throws {
        let matmul = try CooperativeMatrixPlan(device: device, op: "attention", shader: "attention_coopmat",
                                               otherStrategies: "use the scalar attention strategy")
        let shape = matmul.shape
        // Q·Kᵀ runs over the head dim in steps of K, P·V over it in blocks of N; zero padding changes neither.
        var step = max(shape.n, shape.k)
        while step % shape.n != 0 || step % shape.k != 0 { step += 1 }
        let paddedDim = (headDim + step - 1) / step * step
        let candidates = paddedDim <= 64 ? [(32, 32), (16, 32), (16, 16)] : [(16, 32), (16, 16)]
        let sharedMemory = Int(device.physical.features.maxSharedMemory)
        let fits = candidates.first { rows, columns in
            rows % shape.m == 0 && columns % shape.n == 0 && columns % shape.k == 0
                && Self.sharedBytes(rows: rows, columns: columns, paddedDim: paddedDim) <= sharedMemory
        }
        guard let (rows, columns) = fits else { return nil }
        (self.shape, subgroupSize, self.headDim, self.paddedDim) = (shape, matmul.subgroupSize, headDim, paddedDim)
        (self.rows, self.columns) = (rows, columns)
    }

    /// Query and key/value tiles (f16), scores (f32) and probabilities (f16), the output accumulator (f32), and two
    /// f32 statistics per row.
    static func sharedBytes(rows: Int, columns: Int, paddedDim: Int) -> Int {
        2 * rows * paddedDim + 2 * columns * paddedDim + 4 * rows * columns + 2 * rows * columns
            + 4 * rows * paddedDim + 8 * rows
    }

    /// Specialization constants in `attention_coopmat.comp`'s order.
    func specialization(hasMask: Bool, blockCausal: Bool) -> [UInt32] {
        [Self.subgroups * subgroupSize, 1, 1, headDim, paddedDim, rows, columns, shape.m, shape.n, shape.k,
         Self.subgroups, hasMask ? 1 : 0, blockCausal ? 1 : 0].map { UInt32($0) }
    }
}

/// Attention on tensor cores: which calls take `attention_coopmat.comp`, and its recording. `attention(...)` checks
/// the operands and computes the push constants both kernels share.
extension Graph {
    /// The tensor-core plan for an attention of this head dim, or nil when another kernel runs it: by strategy, on
    /// devices below the cooperative-matrix tier, on CPU drivers (`GPUDevice.automaticTensorCores`) or where the
    /// kernel failed its first-use check, and for head dims whose tiles do not fit shared memory (above 128 on a
    /// 32 KiB device).
    func cooperativeAttentionPlan(headDim: Int) throws -> CooperativeAttentionPlan? {
        switch attentionStrategy {
        case .scalar, .direct:
            return nil
        case .cooperativeMatrix:
            return try CooperativeAttentionPlan(device: device, headDim: headDim)
        case .automatic:
            guard device.automaticTensorCores,
                  let plan = try? CooperativeAttentionPlan(device: device, headDim: headDim)
            else { return nil }
            return CooperativeMatrixCheck.passes(.attention, on: device) ? plan : nil
        }
    }

    /// Records `attention_coopmat.comp` over `attention(...)`'s checked operands (q, k and v already in the activation
    /// type, the mask in f32) and push constants; the result is stored in the activation type.
    func recordCooperativeAttention(_ plan: CooperativeAttentionPlan, query: Value, key: Value, value: Value,
                                    mask: Value?, blockCausal: Bool, pushConstants: [UInt32],
                                    grid: (queryLength: Int, heads: Int, batch: Int), work: Double) throws -> Value {
        let maskOperand = mask ?? query
        let call = KernelCall(
            shader: activationShader("attention_coopmat"),
            specialization: plan.specialization(hasMask: mask != nil, blockCausal: blockCausal),
            pushConstants: pushConstants,
            groups: (UInt32((grid.queryLength + plan.rows - 1) / plan.rows), UInt32(grid.heads), UInt32(grid.batch)),
            operands: [query, key, value, maskOperand].map { .init(value: $0.id, access: .read) },
            work: work, label: "attention", subgroupSize: UInt32(plan.subgroupSize))
        return record(call, output: query.shape, dtype: activationDType)
    }
}

extension CooperativeMatrixCheck {
    /// The relative L2 difference between the tensor-core and the scalar attention on random operands of awkward
    /// length (several query and key tiles, none full) with a head dim of 64 and an additive mask.
    static func compareAttention(on device: GPUDevice) throws -> Double {
        let (heads, queryLength, keyLength, headDim) = (2, 45, 70, 64)
        var generator = SystemRandomNumberGenerator()
        let random = { (count: Int) in (0..<count).map { _ in Float.random(in: -2...2, using: &generator) } }
        let q = try Tensor(random(queryLength * heads * headDim), shape: [1, queryLength, heads * headDim], on: device)
        let k = try Tensor(random(keyLength * heads * headDim), shape: [1, keyLength, heads * headDim], on: device)
        let v = try Tensor(random(keyLength * heads * headDim), shape: [1, keyLength, heads * headDim], on: device)
        let mask = try Tensor(random(queryLength * keyLength), shape: [queryLength, keyLength], on: device)
        let arena = ActivationArena(device: device)
        func attention(_ strategy: AttentionStrategy) throws -> [Float] {
            let graph = Graph(arena: arena)
            graph.attentionStrategy = strategy
            let output = try graph.attention(query: graph.input(q), key: graph.input(k), value: graph.input(v),
                                             heads: heads, mask: graph.input(mask))
            return try graph.run([output])[0].floats()
        }
        return relativeDifference(try attention(.cooperativeMatrix), try attention(.scalar))
    }
}
