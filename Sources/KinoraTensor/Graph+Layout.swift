import KinoraGPU

/// Data movement: permutes, transposes, slices, splits, concatenation and nearest upsampling.
///
/// These ops keep the storage type: their kernels move f32 values as 32-bit words and f16/bf16 values as 16-bit words,
/// untouched (`concat` of mixed types is the exception: it converts every input to the graph's activation type first).
/// A move is exact in any type, so these ops keep their input's type rather than take the activation type, as PyTorch's
/// autocast leaves them alone: a 16-bit activation stays 16-bit, and an f32 one (or a weight) stays f32 until an op
/// that computes reads it. Float8 inputs (weights) are widened to f32, scale applied, wherever a kernel moves them.
/// Slices that are one contiguous, suitably aligned byte range are views of their input with no kernel at all.
extension Graph {
    static let layoutThreads = 256
    /// The transpose kernel's tile edge and workgroup rows (TILE x ROWS threads, TILE / ROWS elements each).
    static let transposeTile = 32
    static let transposeRows = 8

    /// The axes of `x` reordered: output axis `i` is input axis `order[i]` (as `torch.permute`). Up to 6 axes
    /// after merging axes that stay adjacent; when the order only moves size-1 axes the result is a view.
    public func permute(_ x: Value, _ order: [Int]) throws -> Value {
        try check(x, "permute")
        guard order.sorted() == Array(0..<x.rank) else {
            throw TensorError.invalidArgument(op: "permute", reason: "order \(order) is not a permutation of the "
                + "\(x.rank) axes of \(x.shape)")
        }
        let outShape = order.map { x.shape[$0] }
        let plan = Self.permutePlan(shape: x.shape, order: order)
        if plan.dims.count <= 1 { return try reshape(x, outShape) }
        guard plan.dims.count <= 6 else {
            throw TensorError.invalidArgument(op: "permute", reason: "order \(order) of \(x.shape) needs "
                + "\(plan.dims.count) axes after merging; at most 6 are supported")
        }
        if plan.order.last != plan.order.count - 1 {
            return try transposeTiled(x, plan: plan, outShape: outShape)
        }
        let inStrides = Self.rowMajorStrides(plan.dims)
        return try gather(x, dims: plan.order.map { plan.dims[$0] }, strides: plan.order.map { inStrides[$0] },
                          base: 0, outShape: outShape, label: "permute")
    }

    /// `x` with axes `a` and `b` swapped (negative axes count from the end).
    public func transpose(_ x: Value, _ a: Int, _ b: Int) throws -> Value {
        try check(x, "transpose")
        let first = try Self.axisIndex(a, rank: x.rank, op: "transpose")
        let second = try Self.axisIndex(b, rank: x.rank, op: "transpose")
        var order = Array(0..<x.rank)
        order.swapAt(first, second)
        return try permute(x, order)
    }

    /// `length` entries of `axis` from `start` (negative axes count from the end). A view without a copy when the
    /// slice is contiguous (every axis before `axis` has size 1, or the slice is the whole axis) and its byte
    /// offset is a multiple of the device's `minStorageBufferOffsetAlignment`; otherwise a copy in `x`'s type.
    public func slice(_ x: Value, axis: Int, start: Int, length: Int) throws -> Value {
        try check(x, "slice")
        let axis = try Self.axisIndex(axis, rank: x.rank, op: "slice")
        guard start >= 0, length >= 1, start + length <= x.shape[axis] else {
            throw TensorError.invalidArgument(op: "slice", reason: "entries \(start)..<\(start + length) are "
                + "outside axis \(axis) of \(x.shape)")
        }
        var outShape = x.shape
        outShape[axis] = length
        if length == x.shape[axis] { return x }
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let byteOffset = UInt64(start * inner * x.dtype.size)
        // Float8 views start on a 32-bit word, since kernels read their bytes four to a word.
        let alignment = max(device.physical.features.minStorageBufferOffsetAlignment, x.dtype.isFloat8 ? 4 : 1)
        if outer == 1, byteOffset % alignment == 0 {
            return makeValue(shape: outShape, dtype: x.dtype, source: .view(of: x.id, byteOffset: byteOffset))
        }
        let row = x.shape[axis] * inner
        return try gather(x, dims: [outer, length * inner], strides: [row, 1], base: start * inner,
                          outShape: outShape, label: "slice")
    }

    /// `x` cut along `axis` into consecutive pieces of `sizes` entries (which must add up to the axis), each as
    /// `slice` makes it (a view where possible).
    public func split(_ x: Value, sizes: [Int], axis: Int) throws -> [Value] {
        try check(x, "split")
        let axis = try Self.axisIndex(axis, rank: x.rank, op: "split")
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }), sizes.reduce(0, +) == x.shape[axis] else {
            throw TensorError.invalidArgument(op: "split", reason: "sizes \(sizes) must be positive and add up to "
                + "axis \(axis) of \(x.shape)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(x, axis: axis, start: start, length: size)
        }
    }

    /// `values` joined along `axis` (negative axes count from the end); all other axes must match. The result
    /// keeps the inputs' storage type when they share one, and is in the activation type otherwise.
    public func concat(_ values: [Value], axis: Int) throws -> Value {
        guard let first = values.first else {
            throw TensorError.invalidArgument(op: "concat", reason: "needs at least one value")
        }
        for value in values { try check(value, "concat") }
        let axis = try Self.axisIndex(axis, rank: first.rank, op: "concat")
        for value in values {
            guard value.rank == first.rank,
                  value.shape.indices.allSatisfy({ $0 == axis || value.shape[$0] == first.shape[$0] }) else {
                throw TensorError.shapeMismatch(op: "concat", shapes: values.map(\.shape),
                                                reason: "all axes but \(axis) must match")
            }
        }
        if values.count == 1 { return first }
        let sameType = values.allSatisfy { $0.dtype == first.dtype } && !first.dtype.isFloat8
        let inputs = try values.map { try sameType ? $0 : activation($0) }
        let maxInputs = PipelineCache.maxBindings - 1
        if inputs.count > maxInputs {
            let groups = stride(from: 0, to: inputs.count, by: maxInputs).map {
                Array(inputs[$0..<min($0 + maxInputs, inputs.count)])
            }
            return try concat(groups.map { try concat($0, axis: axis) }, axis: axis)
        }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        var starts = [0]
        for value in inputs { starts.append(starts[starts.count - 1] + value.shape[axis] * inner) }
        let row = starts[starts.count - 1]
        starts += [Int](repeating: row, count: maxInputs + 1 - starts.count)
        var outShape = first.shape
        outShape[axis] = row / inner
        let count = outer * row
        let dtype = inputs[0].dtype
        let operands = (0..<maxInputs).map { KernelCall.Operand(value: inputs[min($0, inputs.count - 1)].id,
                                                                access: .read) }
        let call = KernelCall(
            shader: "layout_concat.\(Self.bitsVariant(dtype))", specialization: [UInt32(Self.layoutThreads)],
            pushConstants: ([count, row] + starts).map(Launch.u32),
            groups: Launch.grid(count: count, local: Self.layoutThreads), operands: operands,
            work: Double(2 * count * dtype.size), label: "concat")
        return record(call, output: outShape, dtype: dtype)
    }

    /// Nearest-neighbour upsampling of [N, C, H, W] by integer factors (diffusers' `Upsample2D` uses 2, 2):
    /// out[n, c, y, x] = x[n, c, y / factorH, x / factorW]. Keeps the storage type.
    public func upsampleNearest(_ x: Value, factorH: Int, factorW: Int) throws -> Value {
        try check(x, "upsampleNearest")
        guard x.rank == 4 else {
            throw TensorError.shapeMismatch(op: "upsampleNearest", shapes: [x.shape], reason: "needs [N, C, H, W]")
        }
        guard factorH >= 1, factorW >= 1 else {
            throw TensorError.invalidArgument(op: "upsampleNearest", reason: "factors \(factorH), \(factorW) "
                + "must be at least 1")
        }
        let planes = x.shape[0] * x.shape[1], height = x.shape[2], width = x.shape[3]
        return try gather(x, dims: [planes, height, factorH, width, factorW],
                          strides: [height * width, width, 0, 1, 0], base: 0,
                          outShape: [x.shape[0], x.shape[1], height * factorH, width * factorW],
                          label: "upsampleNearest")
    }

    /// PyTorch's `PixelShuffle(r)` (ncnn's `PixelShuffle 0=r`): [N, C·r², H, W] → [N, C, H·r, W·r] with
    /// out[n, c, y·r + i, x·r + j] = x[n, c·r² + i·r + j, y, x]. Keeps the storage type.
    public func pixelShuffle(_ x: Value, factor r: Int) throws -> Value {
        try check(x, "pixelShuffle")
        guard x.rank == 4, r >= 1, x.shape[1] % (r * r) == 0 else {
            throw TensorError.shapeMismatch(op: "pixelShuffle", shapes: [x.shape],
                                            reason: "needs [N, C·r², H, W] with r = \(r) ≥ 1")
        }
        let planes = x.shape[0] * x.shape[1] / (r * r), height = x.shape[2], width = x.shape[3]
        let plane = height * width
        return try gather(x, dims: [planes, height, r, width, r], strides: [r * r * plane, width, r * plane, 1, plane],
                          base: 0, outShape: [x.shape[0], x.shape[1] / (r * r), height * r, width * r],
                          label: "pixelShuffle")
    }

    /// Nearest-neighbour 2x upsampling of [N, C, H, W] (diffusers' `Upsample2D` before its convolution).
    public func upsampleNearest2x(_ x: Value) throws -> Value {
        try upsampleNearest(x, factorH: 2, factorW: 2)
    }

    // MARK: Kernels and plans

    /// Records the strided gather kernel: output of row-major shape `dims` (≤ 6 axes) read at `base + Σ c·stride`.
    private func gather(_ x: Value, dims: [Int], strides: [Int], base: Int, outShape: [Int], label: String) throws
        -> Value {
        let x = try widened(x)
        let count = outShape.reduce(1, *)
        let extents = try Launch.indexExtents(dims, count: count, op: label)
        let call = KernelCall(
            shader: "layout_gather.\(Self.bitsVariant(x.dtype))",
            specialization: [UInt32(Self.layoutThreads), 1, 1, UInt32(max(1, dims.count))],
            pushConstants: [count, base].map(Launch.u32) + extents.dims
                + ([Int](repeating: 0, count: 6 - dims.count) + strides).map(Launch.u32) + extents.divisors,
            groups: Launch.grid(count: count, local: Self.layoutThreads),
            operands: [.init(value: x.id, access: .read)], work: Double(2 * count * x.dtype.size), label: label)
        return record(call, output: outShape, dtype: x.dtype)
    }

    /// Records the tiled transpose for a plan whose last output axis is not the input's last axis.
    private func transposeTiled(_ x: Value, plan: PermutePlan, outShape: [Int]) throws -> Value {
        let x = try widened(x)
        let rank = plan.dims.count
        let inStrides = Self.rowMajorStrides(plan.dims)
        let outDims = plan.order.map { plan.dims[$0] }
        let outStrides = Self.rowMajorStrides(outDims)
        let axisA = rank - 1, axisB = plan.order[rank - 1]
        guard let positionA = plan.order.firstIndex(of: axisA) else {
            throw TensorError.invalidArgument(op: "permute", reason: "internal: last axis missing from the order")
        }
        let batchPositions = (0..<rank).filter { $0 != positionA && $0 != rank - 1 }
        let pad = 4 - batchPositions.count
        let batchDims = [Int](repeating: 1, count: pad) + batchPositions.map { outDims[$0] }
        let batchIn = [Int](repeating: 0, count: pad) + batchPositions.map { inStrides[plan.order[$0]] }
        let batchOut = [Int](repeating: 0, count: pad) + batchPositions.map { outStrides[$0] }
        let batches = batchDims.reduce(1, *)
        let tile = Self.transposeTile
        let sizeA = plan.dims[axisA], sizeB = plan.dims[axisB]
        let call = KernelCall(
            shader: "layout_transpose.\(Self.bitsVariant(x.dtype))",
            specialization: [UInt32(tile), UInt32(Self.transposeRows), 1, UInt32(tile)],
            pushConstants: ([sizeA, sizeB, inStrides[axisB], outStrides[positionA], batches] + batchDims + batchIn
                + batchOut).map(Launch.u32),
            groups: (UInt32(min((sizeA + tile - 1) / tile, 65535)), UInt32(min((sizeB + tile - 1) / tile, 65535)),
                     UInt32(min(batches, 65535))),
            operands: [.init(value: x.id, access: .read)], work: Double(2 * x.count * x.dtype.size),
            label: "permute")
        return record(call, output: outShape, dtype: x.dtype)
    }

    /// A permutation reduced to its essentials: size-1 axes dropped and runs of axes that stay adjacent (in
    /// order) merged. `dims` are the merged input extents; output axis i is merged input axis `order[i]`.
    struct PermutePlan: Equatable {
        var dims: [Int]
        var order: [Int]
    }

    static func permutePlan(shape: [Int], order: [Int]) -> PermutePlan {
        let kept = order.filter { shape[$0] > 1 }
        // Runs of consecutive input axes in output order, each merged into one axis.
        var runs: [[Int]] = []
        for axis in kept {
            if let last = runs.last?.last, Self.onlyOnesBetween(shape, last, axis) {
                runs[runs.count - 1].append(axis)
            } else {
                runs.append([axis])
            }
        }
        let byInputPosition = runs.indices.sorted { runs[$0][0] < runs[$1][0] }
        var mergedIndex = [Int](repeating: 0, count: runs.count)
        for (position, run) in byInputPosition.enumerated() { mergedIndex[run] = position }
        let dims = byInputPosition.map { runs[$0].reduce(1) { $0 * shape[$1] } }
        return PermutePlan(dims: dims, order: runs.indices.map { mergedIndex[$0] })
    }

    /// Whether `a` < `b` and every input axis strictly between them has size 1 (so they are adjacent once
    /// size-1 axes are dropped).
    private static func onlyOnesBetween(_ shape: [Int], _ a: Int, _ b: Int) -> Bool {
        a < b && shape[(a + 1)..<b].allSatisfy { $0 == 1 }
    }

    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropLast().reversed() { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }

    /// `axis` in 0..<rank, counting negative values from the end, or an error naming `op`.
    static func axisIndex(_ axis: Int, rank: Int, op: String) throws -> Int {
        let normalized = axis < 0 ? axis + rank : axis
        guard normalized >= 0, normalized < rank else {
            throw TensorError.invalidArgument(op: op, reason: "axis \(axis) is outside a rank-\(rank) value")
        }
        return normalized
    }

    /// The variant of the bit-moving kernels for `dtype`: 32-bit words for f32, 16-bit for f16 and bf16.
    static func bitsVariant(_ dtype: DType) -> String { dtype.size == 4 ? "b32" : "b16" }
}
