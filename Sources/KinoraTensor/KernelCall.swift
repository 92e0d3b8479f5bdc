import KinoraGPU

/// One recorded dispatch: which shader variant, its constants, and which graph values it binds.
struct KernelCall {
    /// One binding: a graph value and how the kernel accesses it.
    struct Operand {
        var value: Int
        var access: BufferAccess
    }

    var shader: String
    /// Specialization constants; ids 0, 1, 2 are the workgroup size.
    var specialization: [UInt32]
    var pushConstants: [UInt32]
    var groups: (x: UInt32, y: UInt32, z: UInt32)
    var operands: [Operand]
    /// Floating-point operations (or bytes moved), for batching and for the bench.
    var work: Double
    var label: String
    /// The subgroup size the kernel is written for, required of the driver (the tensor-core kernels deal their tiles
    /// to exactly that many subgroups); nil lets the driver choose.
    var subgroupSize: UInt32? = nil
}

/// Helpers for launch geometry and push constants.
enum Launch {
    /// Workgroups for `count` invocations of `local` threads on a 2-D grid (x capped at 65535 groups).
    static func grid(count: Int, local: Int) -> (x: UInt32, y: UInt32, z: UInt32) {
        let groups = max(1, (count + local - 1) / local)
        let x = min(groups, 65535)
        return (UInt32(x), UInt32((groups + x - 1) / x), 1)
    }

    /// Workgroups for `count` workgroups on a 2-D grid (x capped at 65535).
    static func groups(_ count: Int) -> (x: UInt32, y: UInt32, z: UInt32) {
        grid(count: count, local: 1)
    }

    /// The output extents of an index kernel (`binary.comp`, `layout_gather.comp`) as its push constants: `dims`,
    /// padded to six axes with 1 in front, and `fast_divide`'s multiplier of each, then its shift (`dims_multiplier`,
    /// `dims_shift`; an empty extent, whose kernel does nothing, divides by 1). Outputs of `count` ≥ 2³¹ elements,
    /// where the fast division stops being exact, are refused.
    static func indexExtents(_ extents: [Int], count: Int, op: String) throws
        -> (dims: [UInt32], divisors: [UInt32]) {
        guard count <= FastDivisor.limit else {
            throw TensorError.invalidArgument(op: op, reason: "\(count) elements exceed 2³¹ − 1")
        }
        let padded = [Int](repeating: 1, count: 6 - extents.count) + extents
        let divisors = padded.map { FastDivisor(max(1, $0)) }
        return (padded.map(u32), divisors.map(\.multiplier) + divisors.map(\.shift))
    }

    static func bits(_ value: Float) -> UInt32 { value.bitPattern }

    static func u32(_ value: Int) -> UInt32 { UInt32(truncatingIfNeeded: value) }
}
