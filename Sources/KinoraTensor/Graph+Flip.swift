/// Reversal of one axis, as `torch.flip(x, [axis])` (the `Flip` step between the coupling layers of a
/// normalising flow).
extension Graph {
    /// `x` with the entries of `axis` in reverse order (negative axes count from the end); keeps the storage type
    /// (float8 is widened to f32).
    public func flip(_ x: Value, axis: Int) throws -> Value {
        try check(x, "flip")
        let axis = try Self.axisIndex(axis, rank: x.rank, op: "flip")
        let length = x.shape[axis]
        guard length > 1 else { return x }
        let x = try widened(x)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let call = KernelCall(
            shader: "flip.\(Self.bitsVariant(x.dtype))", specialization: [UInt32(Self.layoutThreads)],
            pushConstants: [x.count, length, inner].map(Launch.u32),
            groups: Launch.grid(count: x.count, local: Self.layoutThreads),
            operands: [.init(value: x.id, access: .read)], work: Double(2 * x.count * x.dtype.size), label: "flip")
        return record(call, output: x.shape, dtype: x.dtype)
    }
}
