/// Writing into part of an existing value: the step-by-step fill of a cache kept between runs.
extension Graph {
    /// Writes `source` into `target` at entries `start..<start + source.shape[axis]` of `axis`, leaving the rest of
    /// `target` as it was. `target` is an input tensor (written in place: a key-value cache that outlives the graph)
    /// or a kernel's output of this graph; every other axis must match. `target` keeps its storage type: a source of
    /// the same type moves as raw bits, one of another (16-bit activations into an f32 cache, bf16 into f16) is
    /// converted by the write kernel itself, rounding to nearest even, with no cast pass before it (a float8 source
    /// is widened to f32 first). Ops recorded after the write that read `target` see the written entries.
    public func write(_ source: Value, into target: Value, axis: Int, start: Int) throws {
        try check(source, "write")
        try check(target, "write")
        let axis = try Self.axisIndex(axis, rank: target.rank, op: "write")
        guard source.rank == target.rank,
              source.shape.indices.allSatisfy({ $0 == axis || source.shape[$0] == target.shape[$0] }) else {
            throw TensorError.shapeMismatch(op: "write", shapes: [source.shape, target.shape],
                                            reason: "all axes but \(axis) must match")
        }
        guard start >= 0, start + source.shape[axis] <= target.shape[axis] else {
            throw TensorError.invalidArgument(op: "write", reason: "entries \(start)..<\(start + source.shape[axis]) "
                + "are outside axis \(axis) of \(target.shape)")
        }
        guard !target.dtype.isFloat8 else {
            throw TensorError.invalidArgument(op: "write", reason: "no kernel writes float8")
        }
        let rootID = root(of: target.id).id
        guard root(of: target.id).offset == 0, values[rootID].shape.reduce(1, *) == target.count else {
            throw TensorError.invalidArgument(op: "write", reason: "the target must be a whole value, not a view of "
                + "part of one")
        }
        let root = Value(id: rootID, graph: ObjectIdentifier(self), shape: values[rootID].shape,
                         dtype: values[rootID].dtype)
        let source = try widened(source)
        let variant = source.dtype == target.dtype
            ? Self.bitsVariant(target.dtype) : "\(source.dtype.variant)_\(target.dtype.variant)"
        let inner = target.shape[(axis + 1)...].reduce(1, *)
        let width = source.shape[axis] * inner
        let count = source.count
        let call = KernelCall(
            shader: "layout_write.\(variant)", specialization: [UInt32(Self.layoutThreads)],
            pushConstants: [count, width, target.shape[axis] * inner, start * inner].map(Launch.u32),
            groups: Launch.grid(count: count, local: Self.layoutThreads),
            operands: [.init(value: source.id, access: .read)],
            work: Double(count * (source.dtype.size + target.dtype.size)),
            label: "write")
        record(call, into: root)
    }
}
