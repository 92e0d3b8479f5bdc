/// Activation precision: the storage type that ops read and write activations in.
///
/// Ops that have 16-bit kernels read their activation operands in `activationDType` (casting any that are stored
/// otherwise) and write their results in it; their arithmetic and accumulation stay fp32 inside the kernel, as
/// PyTorch's do for f16/bf16 tensors. An op without 16-bit kernels reads f32 and writes f32, and the next op that has
/// them casts back, so a graph is correct whatever mix of ops it holds.
extension Graph {
    /// The activation storage types a graph can run in.
    public static let activationDTypes: [DType] = [.f32, .f16, .bf16]

    /// `value` in the activation storage type (a cast when stored otherwise, float8 included; itself when not).
    func activation(_ value: Value) throws -> Value {
        try cast(value, to: activationDType)
    }

    /// The variant of `shader` that stores activations in `activationDType`: `shader` itself for f32,
    /// `shader@f16` or `shader@bf16` otherwise (the variants a `// activations: f16 bf16` header compiles).
    func activationShader(_ shader: String) -> String {
        activationDType == .f32 ? shader : "\(shader)@\(activationDType.rawValue)"
    }

    /// Runs `body` with activations stored as `dtype`, then restores the previous type: how a model keeps f32 where
    /// its reference does (time embeddings, modulation) inside a half-precision graph.
    public func withActivations<Result>(_ dtype: DType, _ body: () throws -> Result) rethrows -> Result {
        let previous = activationDType
        activationDType = dtype
        defer { activationDType = previous }
        return try body()
    }
}
