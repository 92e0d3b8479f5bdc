/// Normalisation ops: group norm (UNet/VAE), layer norm with optional adaptive modulation (DiT), RMS norm.
///
/// All three normalise contiguous rows with fp32 statistics in `norm.comp`, reading and writing the activation
/// type. Short rows take one workgroup each (one invocation each on CPU drivers: `ReductionStrategy`); long rows
/// (group norm over large images) are split into chunks whose partial statistics (f32) are merged by a second
/// dispatch, so a handful of groups still spreads over the whole GPU.
extension Graph {
    private enum NormKind: UInt32 {
        case group = 0, layer, rms
    }

    /// How a modulation operand lines up with the rows: one vector per batch of rows, or one per row.
    private enum ModulationMode: UInt32 {
        case none = 0, perBatch, perRow
    }

    /// The geometry of a normalisation: `rows` rows of `rowLength` contiguous elements, with the channel layout
    /// group norm needs to find each element's affine parameters.
    private struct NormRows {
        var rows: Int
        var rowLength: Int
        var groups = 1
        var groupChannels = 1
        var spatial = 1
    }

    /// Threads of a workgroup that shares a row (`ReductionStrategy.workgroup`).
    static let normThreads = 256
    /// Rows longer than this are split over several workgroups (or invocations).
    static let normSplitThreshold = 8192
    /// Elements per workgroup (or invocation) when a row is split (fewer chunks than `normThreads`, so each thread
    /// merges at most one).
    static let normChunkTarget = 4096

    /// Group normalisation as PyTorch's `GroupNorm`: `x` is [N, C, ...spatial]; each sample's channels are split
    /// into `groups` groups normalised by their own mean and variance, then `weight`/`bias` ([C], any storage
    /// type) scale and shift each channel.
    public func groupNorm(_ x: Value, groups: Int, weight: Value?, bias: Value?, epsilon: Float = 1e-5) throws
        -> Value {
        try check(x, "groupNorm")
        guard x.rank >= 2 else {
            throw TensorError.shapeMismatch(op: "groupNorm", shapes: [x.shape], reason: "x must be [N, C, ...]")
        }
        let channels = x.shape[1]
        guard groups > 0, channels % groups == 0 else {
            throw TensorError.invalidArgument(op: "groupNorm",
                                              reason: "\(channels) channels do not split into \(groups) groups")
        }
        try checkAffine(weight, bias, count: channels, of: x, op: "groupNorm")
        let spatial = x.shape.dropFirst(2).reduce(1, *)
        let geometry = NormRows(rows: x.shape[0] * groups, rowLength: channels / groups * spatial, groups: groups,
                                groupChannels: channels / groups, spatial: spatial)
        return try normalize(.group, x, geometry, weight: weight, bias: bias, epsilon: epsilon, op: "groupNorm")
    }

    /// Layer normalisation over the last axis of `x` [..., D] with optional `weight`/`bias` [D] (any storage type).
    ///
    /// `scale` and `shift` add DiT-style adaptive modulation, `y = norm(x) · (1 + scale) + shift`, after the affine
    /// step. Each is f32-computed and shaped like `x` (per token), [B, D] or [B, 1, D] with B = x's first axis (per
    /// sample, broadcast over the tokens), or [D] (shared by all rows).
    public func layerNorm(_ x: Value, weight: Value?, bias: Value?, epsilon: Float = 1e-5, scale: Value? = nil,
                          shift: Value? = nil) throws -> Value {
        try check(x, "layerNorm")
        let width = x.shape[x.rank - 1]
        try checkAffine(weight, bias, count: width, of: x, op: "layerNorm")
        let geometry = NormRows(rows: x.count / width, rowLength: width)
        return try normalize(.layer, x, geometry, weight: weight, bias: bias, scale: scale, shift: shift,
                             epsilon: epsilon, op: "layerNorm")
    }

    /// RMS normalisation over the last axis: `x / sqrt(mean(x²) + epsilon) · weight`, `weight` [D] in any storage
    /// type.
    public func rmsNorm(_ x: Value, weight: Value?, epsilon: Float = 1e-6) throws -> Value {
        try check(x, "rmsNorm")
        let width = x.shape[x.rank - 1]
        try checkAffine(weight, nil, count: width, of: x, op: "rmsNorm")
        return try normalize(.rms, x, NormRows(rows: x.count / width, rowLength: width), weight: weight, bias: nil,
                             epsilon: epsilon, op: "rmsNorm")
    }

    private func checkAffine(_ weight: Value?, _ bias: Value?, count: Int, of x: Value, op: String) throws {
        for parameter in [weight, bias].compactMap({ $0 }) {
            try check(parameter, op)
            guard parameter.count == count else {
                throw TensorError.shapeMismatch(op: op, shapes: [x.shape, parameter.shape],
                                                reason: "weight and bias need \(count) elements")
            }
        }
    }

    /// How `modulation` broadcasts over the rows of `x`, and how many consecutive rows share one vector.
    private func modulationMode(_ modulation: Value?, for x: Value, rows: Int, name: String, op: String) throws
        -> (mode: ModulationMode, rowsPerBatch: Int) {
        guard let modulation else { return (.none, 1) }
        try check(modulation, op)
        let width = x.shape[x.rank - 1]
        if modulation.shape == x.shape { return (.perRow, 1) }
        if modulation.shape == [width] { return (.perBatch, rows) }
        if x.rank >= 2, modulation.shape == [x.shape[0], width] || modulation.shape == [x.shape[0], 1, width] {
            return (.perBatch, rows / x.shape[0])
        }
        throw TensorError.shapeMismatch(op: op, shapes: [x.shape, modulation.shape],
                                        reason: "\(name) must be shaped like x, [B, D], [B, 1, D] or [D]")
    }

    private func normalize(_ kind: NormKind, _ x: Value, _ geometry: NormRows, weight: Value?, bias: Value?,
                           scale: Value? = nil, shift: Value? = nil, epsilon: Float, op: String) throws -> Value {
        guard epsilon >= 0, epsilon.isFinite else {
            throw TensorError.invalidArgument(op: op, reason: "epsilon \(epsilon) must be finite and >= 0")
        }
        let scaleMode = try modulationMode(scale, for: x, rows: geometry.rows, name: "scale", op: op)
        let shiftMode = try modulationMode(shift, for: x, rows: geometry.rows, name: "shift", op: op)
        let rowsPerBatch = [scaleMode, shiftMode].first { $0.mode == .perBatch }?.rowsPerBatch ?? 1
        guard [scaleMode, shiftMode].allSatisfy({ $0.mode != .perBatch || $0.rowsPerBatch == rowsPerBatch }) else {
            throw TensorError.shapeMismatch(op: op, shapes: [scale?.shape ?? [], shift?.shape ?? []],
                                            reason: "per-sample scale and shift must cover the same rows")
        }

        let input = try activation(x)
        // The affine parameters are read in their storage type; float8 ones are widened to f32 (no norm variant).
        // The modulation stays f32, as DiTs compute it (Wan's in f32 under autocast).
        let storedType = weight?.dtype ?? bias?.dtype ?? .f32
        let affineType = storedType.isFloat8 ? .f32 : storedType
        let weightOperand = try weight.map { try cast($0, to: affineType) } ?? input
        let biasOperand = try bias.map { try cast($0, to: affineType) } ?? input
        let scaleOperand = try scale.map { try cast($0, to: .f32) } ?? input
        let shiftOperand = try shift.map { try cast($0, to: .f32) } ?? input

        let split = geometry.rowLength > Self.normSplitThreshold
        let chunks = split ? min(Self.normThreads, (geometry.rowLength + Self.normChunkTarget - 1)
                                 / Self.normChunkTarget) : 1
        let chunkLength = (geometry.rowLength + chunks - 1) / chunks
        let pushConstants = [geometry.rows, geometry.rowLength, chunkLength, chunks, geometry.groups,
                             geometry.groupChannels, geometry.spatial, rowsPerBatch].map(Launch.u32)
            + [Launch.bits(epsilon)]
        // A workgroup per (row, chunk), or an invocation per (row, chunk) in workgroups of a few.
        let perInvocation = reducesRowPerInvocation
        let threads = perInvocation ? Self.rowsPerReductionWorkgroup : Self.normThreads
        let groups = perInvocation ? Launch.grid(count: geometry.rows * chunks, local: threads)
            : Launch.groups(geometry.rows * chunks)
        let read = { (value: Value) in KernelCall.Operand(value: value.id, access: .read) }

        var statistics = input
        if split {
            let call = KernelCall(
                shader: activationShader("norm.statistics"),
                specialization: [UInt32(threads), 1, 1, 1, kind.rawValue, 0, 0, 0, 0, perInvocation ? 1 : 0],
                pushConstants: pushConstants, groups: groups, operands: Array(repeating: read(input), count: 6),
                work: Double(x.count * 4), label: "\(op) statistics")
            statistics = record(call, output: [geometry.rows, chunks, 3], dtype: .f32)
        }
        let call = KernelCall(
            shader: activationShader("norm.\(affineType.variant)"),
            specialization: [UInt32(threads), 1, 1, split ? 2 : 0, kind.rawValue, weight == nil ? 0 : 1,
                             bias == nil ? 0 : 1, scaleMode.mode.rawValue, shiftMode.mode.rawValue,
                             perInvocation ? 1 : 0],
            pushConstants: pushConstants, groups: groups,
            operands: [input, weightOperand, biasOperand, scaleOperand, shiftOperand, statistics].map(read),
            work: Double(x.count * (split ? 8 : 12)), label: op)
        return record(call, output: x.shape, dtype: activationDType)
    }
}
