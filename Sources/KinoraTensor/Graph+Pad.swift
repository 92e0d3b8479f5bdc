/// Padding of the last axis with zeros or with the signal's own edges, as `torch.nn.functional.pad` does for
/// 1-D signals (the reflect padding of EnCodec's and other SEANet convolutions).
extension Graph {
    /// How `pad` fills the new entries.
    public enum PadMode: UInt32, Sendable, CaseIterable {
        /// Zeros (PyTorch's "constant" with value 0).
        case zeros = 0
        /// The entries mirrored about the first and last one, which are not repeated (PyTorch's "reflect"):
        /// `[a, b, c]` padded by 2 on the left is `[c, b, a, b, c]`. Each side must be shorter than the axis.
        case reflect
        /// The first and last entries repeated (PyTorch's "replicate").
        case replicate
    }

    /// `x` with `left` entries before and `right` after along its last axis, filled by `mode`; keeps the storage
    /// type (float8 is widened to f32).
    public func pad(_ x: Value, left: Int, right: Int, mode: PadMode = .zeros) throws -> Value {
        try check(x, "pad")
        guard x.rank >= 1, left >= 0, right >= 0 else {
            throw TensorError.invalidArgument(
                op: "pad", reason: "needs at least one axis and padding ≥ 0, got \(x.shape), \(left), \(right)")
        }
        let length = x.shape[x.rank - 1]
        guard mode != .reflect || max(left, right) < length else {
            throw TensorError.invalidArgument(
                op: "pad",
                reason: "reflect padding of \(left) and \(right) needs an axis longer than both, got "
                    + "\(length) entries")
        }
        guard left > 0 || right > 0 else { return x }
        let x = try widened(x)
        let padded = left + length + right
        let outShape = Array(x.shape.dropLast()) + [padded]
        let count = outShape.reduce(1, *)
        let call = KernelCall(
            shader: "pad.\(Self.bitsVariant(x.dtype))", specialization: [UInt32(Self.layoutThreads)],
            pushConstants: [count, length, left, padded, Int(mode.rawValue)].map(Launch.u32),
            groups: Launch.grid(count: count, local: Self.layoutThreads),
            operands: [.init(value: x.id, access: .read)], work: Double((x.count + count) * x.dtype.size),
            label: "pad")
        return record(call, output: outShape, dtype: x.dtype)
    }
}
