/// Which family of kernels a device runs, chosen from its features at start-up.
public enum KernelTier: String, Sendable, Codable, CaseIterable {
    /// fp32 arithmetic everywhere; runs on any Vulkan 1.2 device, including lavapipe.
    case scalarF32 = "scalar-fp32"
    /// Devices with fp16 arithmetic. Today its kernels are the scalar ones (f16/bf16 weights are converted to
    /// fp32 as they are loaded); the tier exists so that fp16-arithmetic variants can be chosen per device.
    case float16 = "fp16"
    /// Tensor-core matmul through `VK_KHR_cooperative_matrix`.
    case cooperativeMatrix = "cooperative-matrix"

    /// The best tier the features allow. A CPU device with cooperative matrices (Mesa 26's lavapipe) is on the
    /// tensor-core tier, so that forced tensor-core kernels run and are checked there, but automatic choices keep it
    /// off them (`GPUDevice.automaticTensorCores`); other CPU devices stay on the scalar tier, their "fp16" emulated.
    static func select(for features: PhysicalDevice.Features, isCPU: Bool = false) -> KernelTier {
        if features.cooperativeMatrix && features.storage16Bit && features.float16Arithmetic {
            return .cooperativeMatrix
        }
        if features.float16Arithmetic && features.storage16Bit && !isCPU { return .float16 }
        return .scalarF32
    }
}
