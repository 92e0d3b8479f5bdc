/// Reductions along one axis: sum, mean, maximum and minimum.
extension Graph {
    /// How `reduce` combines the entries of an axis.
    public enum Reduction: UInt32, Sendable, CaseIterable {
        case sum = 0, maximum, minimum, mean
    }

    /// Threads per reduction workgroup (columns × lanes).
    static let reduceThreads = 256

    /// `x` reduced over `axis` (negative axes count from the end), keeping it with size 1 when `keepDims`.
    /// The result is in the activation type, accumulated in f32: each thread folds a strided share of the axis and
    /// a workgroup combines the partial results by a tree in shared memory, so long axes are read by many threads
    /// at once.
    public func reduce(_ reduction: Reduction, _ x: Value, axis: Int, keepDims: Bool = false) throws -> Value {
        let op = "\(reduction)"
        try check(x, op)
        let axis = try Self.axisIndex(axis, rank: x.rank, op: op)
        let outer = x.shape[..<axis].reduce(1, *)
        let n = x.shape[axis]
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        var outShape = x.shape
        if keepDims {
            outShape[axis] = 1
        } else {
            outShape.remove(at: axis)
            if outShape.isEmpty { outShape = [1] }
        }
        let source = try activation(x)
        let columns = min(Self.powerOfTwo(atLeast: inner), 32)
        let lanes = min(Self.reduceThreads / columns, Self.powerOfTwo(atLeast: n))
        let kernelOp: UInt32 = reduction == .mean ? Reduction.sum.rawValue : reduction.rawValue
        let call = KernelCall(
            shader: activationShader("reduce"), specialization: [UInt32(columns), UInt32(lanes), 1, kernelOp],
            pushConstants: [Launch.u32(outer), Launch.u32(n), Launch.u32(inner),
                            Launch.bits(reduction == .mean ? 1 / Float(n) : 1)],
            groups: (UInt32(min((inner + columns - 1) / columns, 65535)), UInt32(min(outer, 65535)), 1),
            operands: [.init(value: source.id, access: .read)], work: Double(x.count), label: op)
        return record(call, output: outShape, dtype: activationDType)
    }

    /// The sum over `axis`.
    public func sum(_ x: Value, axis: Int, keepDims: Bool = false) throws -> Value {
        try reduce(.sum, x, axis: axis, keepDims: keepDims)
    }

    /// The mean over `axis`.
    public func mean(_ x: Value, axis: Int, keepDims: Bool = false) throws -> Value {
        try reduce(.mean, x, axis: axis, keepDims: keepDims)
    }

    /// The maximum over `axis`. (Not named `max`: a `Graph` method of that name would hide `Swift.max` in
    /// every `Graph` extension.)
    public func maximum(_ x: Value, axis: Int, keepDims: Bool = false) throws -> Value {
        try reduce(.maximum, x, axis: axis, keepDims: keepDims)
    }

    /// The minimum over `axis`.
    public func minimum(_ x: Value, axis: Int, keepDims: Bool = false) throws -> Value {
        try reduce(.minimum, x, axis: axis, keepDims: keepDims)
    }

    /// The smallest power of two ≥ `n` (and ≥ 1).
    static func powerOfTwo(atLeast n: Int) -> Int {
        var power = 1
        while power < n { power *= 2 }
        return power
    }
}
