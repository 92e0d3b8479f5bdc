/// Values that stand for inputs when a graph is only planned.
extension Graph {
    /// A value of `shape` and `dtype` with no storage: an input for `memoryPlan` when the real one is too large to
    /// allocate where the plan is made (a full-size activation on a device with small buffers, or a tensor a
    /// streamed pass would carry from its previous piece). `memoryPlan` treats it as any input, held outside the
    /// arena and not counted; a graph that reads it cannot `run` (the kernel that would read it throws, named).
    public func placeholder(shape: [Int], dtype: DType = .f32) throws -> Value {
        try Tensor.validate(shape: shape, op: "placeholder")
        return makeValue(shape: shape, dtype: dtype, source: .placeholder)
    }
}
