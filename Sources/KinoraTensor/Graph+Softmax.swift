/// Softmax along any axis.
extension Graph {
    /// `exp(x − max) / Σ exp(x − max)` along `axis` (negative counts from the end), computed stably in fp32 by one
    /// workgroup per row (one invocation per row on CPU drivers: `ReductionStrategy`). The last axis reads contiguous
    /// rows; other axes read rows with a stride. Entries of −inf get zero weight, and a row of only −inf gives zeros.
    /// Reads and writes the activation type.
    public func softmax(_ x: Value, axis: Int = -1) throws -> Value {
        try check(x, "softmax")
        let resolved = axis < 0 ? axis + x.rank : axis
        guard resolved >= 0, resolved < x.rank else {
            throw TensorError.invalidArgument(op: "softmax", reason: "axis \(axis) is outside a rank-\(x.rank) tensor")
        }
        let length = x.shape[resolved]
        let inner = x.shape[(resolved + 1)...].reduce(1, *)
        let rows = x.count / length
        let perInvocation = reducesRowPerInvocation
        var threads = 32
        while threads < min(length, 256) { threads *= 2 }
        if perInvocation { threads = Self.rowsPerReductionWorkgroup }
        let input = try activation(x)
        let call = KernelCall(
            shader: activationShader("softmax"), specialization: [UInt32(threads), 1, 1, perInvocation ? 1 : 0],
            pushConstants: [rows, length, inner].map(Launch.u32),
            groups: perInvocation ? Launch.grid(count: rows, local: threads) : Launch.groups(rows),
            operands: [.init(value: input.id, access: .read)],
            work: Double(x.count * 12), label: "softmax")
        return record(call, output: x.shape, dtype: activationDType)
    }
}
