import KinoraGPU
import KinoraTensor

/// Every kernel checked against its CPU reference on one device: the scalar kernels everywhere, the tensor-core
/// (cooperative-matrix) variants where the device has them. `kinora-gpu-check conformance` prints the results.
public enum KernelConformance {
    /// The cases for `device`, kernel family by family, each with f32 activations and then (unless exempt) with f16
    /// and with bf16 ones; those the device cannot run carry a skip reason.
    public static func cases(for device: GPUDevice) -> [ConformanceCase] {
        let f32 = matmulCases(for: device) + convolutionCases(for: device) + attentionCases(for: device)
            + normalizationCases() + elementwiseCases() + layoutCases() + embeddingCases() + resamplingCases()
            + sequenceCases(for: device)
        let half = [DType.f16, .bf16].flatMap { dtype in
            f32.filter { $0.halfExemption == nil }.map { $0.withActivations(dtype) }
        }
        return f32 + half
    }

    /// Runs one case on inputs drawn from `seed` and the case's name (so one case reproduces alone), catching what it
    /// throws; any validation-layer message makes it fail.
    public static func check(_ conformanceCase: ConformanceCase, arena: ActivationArena, seed: UInt64)
        -> ConformanceResult {
        var result = ConformanceResult(name: conformanceCase.name, status: .skip, tolerance: conformanceCase.tolerance,
                                       note: conformanceCase.skipReason)
        guard conformanceCase.skipReason == nil else { return result }
        let context = ConformanceContext(arena: arena, seed: seed ^ fingerprint(conformanceCase.name),
                                         activations: conformanceCase.activations)
        do {
            let comparison = try conformanceCase.compare(context)
            result.relativeError = comparison.relativeError
            result.maxAbsoluteError = comparison.maxAbsoluteError
            result.status = comparison.relativeError <= conformanceCase.tolerance ? .pass : .fail
            result.note = comparison.actual.count == comparison.expected.count ? nil
                : "\(comparison.actual.count) values where the reference has \(comparison.expected.count)"
        } catch {
            result.status = .fail
            result.note = "\(error)"
        }
        let messages = arena.device.instance.validationLog.drain()
        if !messages.isEmpty {
            result.status = .fail
            result.note = ([result.note].compactMap { $0 } + ["validation: "
                + messages.map(\.description).joined(separator: " | ")]).joined(separator: "; ")
        }
        return result
    }

    /// FNV-1a of `text`.
    static func fingerprint(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
