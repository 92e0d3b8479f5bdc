/// How a row reduction (group, layer and RMS norm; softmax) spreads each row over threads.
public enum ReductionStrategy: Sendable, CaseIterable {
    /// A workgroup per row on GPUs, an invocation per row on CPU drivers.
    case automatic
    /// The threads of one workgroup share a row and merge their partial statistics through shared memory, a
    /// barrier per step: GPUs, where a barrier is cheap and a row's threads read neighbouring elements together.
    case workgroup
    /// Each invocation reduces a row (or a chunk of a long row) alone, with no shared memory and no barrier: CPU
    /// drivers, where a barrier switches every invocation of the workgroup in turn. On lavapipe (LLVM 15) the tiny
    /// SD UNet's 16-wide layer norms took 843 ms of a 4-step run with 256-thread workgroups and 10-20 ms this way.
    case invocation
}

extension Graph {
    /// Invocations per workgroup when each reduces whole rows: one SIMD batch of lavapipe's 8 lanes, so a few rows
    /// still spread over every core.
    static let rowsPerReductionWorkgroup = 8

    /// Whether reductions recorded now take one invocation per row (the `invocation` strategy, or a CPU driver's
    /// `automatic`).
    var reducesRowPerInvocation: Bool {
        switch reductionStrategy {
        case .automatic: device.physical.kind == .cpu
        case .workgroup: false
        case .invocation: true
        }
    }
}
