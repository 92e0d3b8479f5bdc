/// The device a plan is made for: the memory budget (the `VK_EXT_memory_budget` figure, or `--vram`) and the rough
/// speeds the time estimates use.
public struct DeviceProfile: Sendable, Hashable, Codable {
    /// Device bytes the plan may use at its peak.
    public var budgetBytes: UInt64
    /// Sustained arithmetic rate, in floating-point operations per second.
    public var flopsPerSecond: Double
    /// Host-to-device upload rate, for loading and streaming weights.
    public var uploadBytesPerSecond: Double
    /// Disk read rate, for loading weights.
    public var diskBytesPerSecond: Double
    /// Measured over estimated seconds of earlier renders on this device, by `family/kind`
    /// (`TimeCalibration.factors`); a run step's estimate is multiplied by its factor.
    public var timeFactors: [String: Double] = [:]

    /// The arithmetic rate a mid-range discrete GPU sustains; the default.
    public static let discreteGPUFlopsPerSecond = 10e12
    /// The arithmetic rate of a CPU Vulkan driver such as lavapipe: `kinora bench kernels` measures 1–3.4 GFLOP/s
    /// for its matmul and convolution kernels on 2 cores.
    public static let cpuDriverFlopsPerSecond = 2e9

    /// Defaults describe a mid-range discrete GPU (10 TFLOP/s, PCIe 4 ×16, NVMe disk).
    public init(budgetBytes: UInt64, flopsPerSecond: Double = discreteGPUFlopsPerSecond,
                uploadBytesPerSecond: Double = 12e9, diskBytesPerSecond: Double = 2e9) {
        self.budgetBytes = budgetBytes
        self.flopsPerSecond = flopsPerSecond
        self.uploadBytesPerSecond = uploadBytesPerSecond
        self.diskBytesPerSecond = diskBytesPerSecond
    }

    /// The factor earlier renders set for `kind` stages of a model of `family` (1 when none did).
    public func timeFactor(family: String, kind: StageKind) -> Double {
        timeFactors[TimeCalibration.key(family: family, kind: kind)] ?? 1
    }

    /// Seconds to read `bytes` of weights from disk and upload them.
    public func loadSeconds(_ bytes: UInt64) -> Double {
        Double(bytes) / diskBytesPerSecond + Double(bytes) / uploadBytesPerSecond
    }
}
