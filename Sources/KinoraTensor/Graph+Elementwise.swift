/// Elementwise ops: storage-type casts, broadcasting binary arithmetic and unary activations.
extension Graph {
    /// Unary functions, each `f(x * alpha + beta)`; `elu` is `x > 0 ? x : exp(x) − 1` (PyTorch's `nn.ELU()`,
    /// alpha 1).
    public enum UnaryFunction: UInt32, Sendable, CaseIterable {
        case identity = 0, silu, gelu, geluTanh, tanh, sigmoid, softplus, exp, relu, sqrt, log, abs, square,
             reciprocal, sin, cos, elu
    }

    /// Binary functions with broadcasting.
    public enum BinaryFunction: UInt32, Sendable, CaseIterable {
        case add = 0, subtract, multiply, divide, maximum, minimum
    }

    static let elementwiseThreads = 256

    /// Converts `value` to another storage type (rounding to nearest even), or returns it when already `dtype`.
    /// Float8 values convert with their per-tensor scale applied; no kernel writes float8, so it is never a target.
    public func cast(_ value: Value, to dtype: DType) throws -> Value {
        try check(value, "cast")
        guard value.dtype != dtype else { return value }
        guard !dtype.isFloat8 else {
            throw TensorError.dtypeMismatch(op: "cast", dtypes: [value.dtype, dtype],
                                            reason: "float8 is a weight storage type that no op writes")
        }
        guard value.dtype == .f32 || dtype == .f32 else {
            return try cast(cast(value, to: .f32), to: dtype)
        }
        let call = KernelCall(
            shader: "cast.\(value.dtype.variant)_\(dtype.variant)", specialization: [UInt32(Self.elementwiseThreads)],
            pushConstants: [Launch.u32(value.count), Launch.bits(scale(of: value))],
            groups: Launch.grid(count: value.count, local: Self.elementwiseThreads),
            operands: [.init(value: value.id, access: .read)], work: Double(value.count * (value.dtype.size + dtype.size)),
            label: "cast")
        return record(call, output: value.shape, dtype: dtype)
    }

    /// `value` itself, or for float8 (weights) the f32 values times its scale: what ops without float8 kernels work on.
    func widened(_ value: Value) throws -> Value {
        value.dtype.isFloat8 ? try cast(value, to: .f32) : value
    }

    /// A copy of `value` in fresh storage of the activation type (cast first when stored otherwise).
    public func copy(_ value: Value) throws -> Value {
        try check(value, "copy")
        let source = try activation(value)
        let variant = activationDType.variant
        let call = KernelCall(
            shader: "cast.\(variant)_\(variant)", specialization: [UInt32(Self.elementwiseThreads)],
            pushConstants: [Launch.u32(value.count)],
            groups: Launch.grid(count: value.count, local: Self.elementwiseThreads),
            operands: [.init(value: source.id, access: .read)], work: Double(value.count * 2 * activationDType.size),
            label: "copy")
        return record(call, output: value.shape, dtype: activationDType)
    }

    /// `f(value * alpha + beta)` elementwise, in the activation type.
    public func unary(_ function: UnaryFunction, _ value: Value, alpha: Float = 1, beta: Float = 0) throws -> Value {
        try check(value, "unary")
        let source = try activation(value)
        let call = KernelCall(
            shader: activationShader("unary"), specialization: [UInt32(Self.elementwiseThreads), 1, 1, function.rawValue],
            pushConstants: [Launch.u32(value.count), Launch.bits(alpha), Launch.bits(beta)],
            groups: Launch.grid(count: value.count, local: Self.elementwiseThreads),
            operands: [.init(value: source.id, access: .read)], work: Double(value.count), label: "\(function)")
        return record(call, output: value.shape, dtype: activationDType)
    }

    public func silu(_ value: Value) throws -> Value { try unary(.silu, value) }
    /// GELU with the exact erf form, or the tanh approximation when `approximate` is set.
    public func gelu(_ value: Value, approximate: Bool = false) throws -> Value {
        try unary(approximate ? .geluTanh : .gelu, value)
    }
    public func tanh(_ value: Value) throws -> Value { try unary(.tanh, value) }
    public func elu(_ value: Value) throws -> Value { try unary(.elu, value) }
    public func sigmoid(_ value: Value) throws -> Value { try unary(.sigmoid, value) }
    public func softplus(_ value: Value) throws -> Value { try unary(.softplus, value) }
    public func exp(_ value: Value) throws -> Value { try unary(.exp, value) }
    /// `value * factor + offset`.
    public func scale(_ value: Value, by factor: Float, offset: Float = 0) throws -> Value {
        try unary(.identity, value, alpha: factor, beta: offset)
    }

    /// `a OP b` with NumPy broadcasting (shapes aligned from the last axis; size-1 axes stretch), in the activation
    /// type.
    public func binary(_ function: BinaryFunction, _ a: Value, _ b: Value) throws -> Value {
        try check(a, "\(function)")
        try check(b, "\(function)")
        let rank = max(a.rank, b.rank)
        guard rank <= 6 else {
            throw TensorError.invalidArgument(op: "\(function)", reason: "broadcasting supports up to 6 axes")
        }
        let padA = [Int](repeating: 1, count: 6 - a.rank) + a.shape
        let padB = [Int](repeating: 1, count: 6 - b.rank) + b.shape
        var dims = [Int](repeating: 1, count: 6)
        for axis in 0..<6 {
            guard padA[axis] == padB[axis] || padA[axis] == 1 || padB[axis] == 1 else {
                throw TensorError.shapeMismatch(op: "\(function)", shapes: [a.shape, b.shape],
                                                reason: "axis sizes must match or be 1")
            }
            dims[axis] = max(padA[axis], padB[axis])
        }
        let outShape = Array(dims.suffix(rank))
        let count = outShape.reduce(1, *)
        let plan = Self.broadcastPlan(dims: dims, a: Self.broadcastStrides(padA), b: Self.broadcastStrides(padB))
        let extents = try Launch.indexExtents(plan.dims, count: count, op: "\(function)")
        let pad = [Int](repeating: 0, count: 6 - plan.dims.count)
        let lhs = try activation(a)
        let rhs = try activation(b)
        let call = KernelCall(
            shader: activationShader("binary"),
            specialization: [UInt32(Self.elementwiseThreads), 1, 1, function.rawValue, UInt32(plan.dims.count)],
            pushConstants: [Launch.u32(count)] + extents.dims + (pad + plan.a).map(Launch.u32)
                + (pad + plan.b).map(Launch.u32) + extents.divisors,
            groups: Launch.grid(count: count, local: Self.elementwiseThreads),
            operands: [.init(value: lhs.id, access: .read), .init(value: rhs.id, access: .read)],
            work: Double(count), label: "\(function)")
        return record(call, output: outShape, dtype: activationDType)
    }

    public func add(_ a: Value, _ b: Value) throws -> Value { try binary(.add, a, b) }
    public func subtract(_ a: Value, _ b: Value) throws -> Value { try binary(.subtract, a, b) }
    public func multiply(_ a: Value, _ b: Value) throws -> Value { try binary(.multiply, a, b) }
    public func divide(_ a: Value, _ b: Value) throws -> Value { try binary(.divide, a, b) }

    /// A broadcast reduced to its essentials: the output's extents and each operand's element strides, with size-1
    /// axes dropped and neighbouring axes merged wherever both operands step through them as through one axis
    /// (contiguous, or broadcast, in both). The kernel then divides by fewer extents: same-shape operands keep one
    /// axis and no division, a bias over [N, C, H, W] three axes.
    struct BroadcastPlan: Equatable {
        var dims: [Int]
        var a: [Int]
        var b: [Int]
    }

    static func broadcastPlan(dims: [Int], a: [Int], b: [Int]) -> BroadcastPlan {
        var plan = BroadcastPlan(dims: [], a: [], b: [])
        for axis in dims.indices where dims[axis] > 1 {
            let extent = dims[axis]
            if let last = plan.dims.indices.last,
               plan.a[last] == a[axis] * extent, plan.b[last] == b[axis] * extent {
                plan.dims[last] *= extent
                plan.a[last] = a[axis]
                plan.b[last] = b[axis]
            } else {
                plan.dims.append(extent)
                plan.a.append(a[axis])
                plan.b.append(b[axis])
            }
        }
        return plan.dims.isEmpty ? BroadcastPlan(dims: [1], a: [0], b: [0]) : plan
    }

    /// Row-major element strides of `shape`, with 0 on size-1 axes (which broadcast).
    static func broadcastStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: shape.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            strides[axis] = shape[axis] == 1 ? 0 : stride
            stride *= shape[axis]
        }
        return strides
    }
}
