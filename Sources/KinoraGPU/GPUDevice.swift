import CVulkan
import Foundation

/// The device Kinora computes on: the chosen physical device, its queue, memory allocator and pipelines.
public final class GPUDevice: @unchecked Sendable {
    public let instance: VulkanInstance
    public let physical: PhysicalDevice
    /// The kernel tier chosen for this device (overridable with `KINORA_TIER`).
    public let tier: KernelTier
    /// Whether kernels chosen automatically may run on tensor cores: on the cooperative-matrix tier of a GPU. CPU
    /// drivers that offer cooperative matrices (Mesa 26's lavapipe) emulate them lane by lane, slower than their
    /// direct kernels: a 512³ f16 matmul took 36.9 ms against 10.1, L256 h8 d64 attention 23.3 against 6.8, an
    /// ESRGAN body convolution 330 against 100. Forced strategies still take them there (tests, conformance), and
    /// `emulatedTensorCoresChosenAutomatically` lets tests check the automatic choice on such a driver.
    public var automaticTensorCores: Bool {
        tier == .cooperativeMatrix && (physical.kind != .cpu || emulatedTensorCoresChosenAutomatically)
    }
    /// Tests only: automatic choices take a CPU driver's cooperative matrices as a GPU's.
    public var emulatedTensorCoresChosenAutomatically = false
    public let memory: MemoryAllocator
    public let pipelines: PipelineCache
    /// GPU time per kernel, gathered from every command stream while it is enabled (`kinora image --profile`).
    public let profile = DispatchProfile()
    let logical: LogicalDevice
    let maxWorkgroupCount: (UInt32, UInt32, UInt32)

    /// The device as the benchmark and check reports head their tables: name, driver and kernel tier.
    public var summary: String { "\(physical.name) (\(physical.driverName), tier \(tier.rawValue))" }

    /// Opens the device chosen by `selection`. The memory budget is `budget`, else `KINORA_VRAM` (e.g. `6GB`),
    /// else the device's own budget. `shaders` maps a shader variant name to SPIR-V words.
    ///
    /// With `pipelineCacheFolder`, compiled pipelines persist there between runs (`PipelineCacheFile`).
    public init(selection: DeviceSelection = .fromEnvironment(), validation: Bool? = nil, budget: UInt64? = nil,
                pipelineCacheFolder: URL? = nil, shaders: @escaping @Sendable (String) -> [UInt32]?) throws {
        instance = try VulkanInstance(validation: validation)
        physical = try selection.choose(from: instance.physicalDevices())
        logical = try LogicalDevice(physical: physical)
        let environment = ProcessInfo.processInfo.environment
        if let requested = environment["KINORA_TIER"], !requested.isEmpty {
            guard let forced = KernelTier(rawValue: requested) else {
                throw GPUError.invalidArgument("KINORA_TIER=\(requested) is not one of "
                    + KernelTier.allCases.map(\.rawValue).joined(separator: ", "))
            }
            tier = forced
        } else {
            tier = physical.tier
        }
        var resolvedBudget = physical.deviceLocalBudget
        if let text = environment["KINORA_VRAM"], !text.isEmpty {
            guard let parsed = ByteCount.parse(text) else {
                throw GPUError.invalidArgument("KINORA_VRAM=\(text) is not a size such as 6GB or 512MiB")
            }
            resolvedBudget = parsed
        }
        memory = MemoryAllocator(device: logical, budget: budget ?? resolvedBudget)
        let chosen = physical
        pipelines = try PipelineCache(
            device: logical, source: shaders,
            file: pipelineCacheFolder.map { PipelineCacheFile(folder: $0, physical: chosen) })
        var properties = VkPhysicalDeviceProperties()
        logical.vk.vkGetPhysicalDeviceProperties(physical.handle, &properties)
        let counts = properties.limits.maxComputeWorkGroupCount
        maxWorkgroupCount = (counts.0, counts.1, counts.2)
    }

    /// Allocates a device buffer of `bytes` (see `MemoryAllocator.allocate`).
    public func allocate(bytes: UInt64) throws -> GPUBuffer {
        try memory.allocate(bytes: bytes, kind: .device)
    }

    /// Copies `bytes` into `buffer` at `offset`, directly where the buffer is host-visible, else through a staging
    /// buffer. Waits until the copy is complete; the caller must not have GPU work in flight on `buffer`.
    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: GPUBuffer, offset: UInt64 = 0) throws {
        guard offset + UInt64(bytes.count) <= buffer.size else {
            throw GPUError.invalidArgument("upload of \(bytes.count) bytes at offset \(offset) overflows a "
                + "\(buffer.size)-byte buffer")
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if let mapped = buffer.mapped {
            (mapped + Int(offset)).copyMemory(from: base, byteCount: bytes.count)
            return
        }
        let staging = try memory.allocate(bytes: UInt64(bytes.count), kind: .host)
        staging.mapped!.copyMemory(from: base, byteCount: bytes.count)
        let stream = CommandStream(device: self)
        try stream.copy(from: staging, to: buffer, bytes: UInt64(bytes.count), destinationOffset: offset)
        try stream.finish()
    }

    /// Copies `bytes.count` bytes from `buffer` at `offset` into `bytes`. The caller must have finished the GPU
    /// work that writes `buffer`.
    public func download(_ buffer: GPUBuffer, offset: UInt64 = 0, into bytes: UnsafeMutableRawBufferPointer) throws {
        guard offset + UInt64(bytes.count) <= buffer.size else {
            throw GPUError.invalidArgument("download of \(bytes.count) bytes at offset \(offset) overflows a "
                + "\(buffer.size)-byte buffer")
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if let mapped = buffer.mapped {
            base.copyMemory(from: mapped + Int(offset), byteCount: bytes.count)
            return
        }
        let staging = try memory.allocate(bytes: UInt64(bytes.count), kind: .host)
        let stream = CommandStream(device: self)
        try stream.copy(from: buffer, to: staging, bytes: UInt64(bytes.count), sourceOffset: offset)
        try stream.finish()
        base.copyMemory(from: staging.mapped!, byteCount: bytes.count)
    }

    /// Uploads an array of plain values into a new device buffer.
    public func makeBuffer<T: BitwiseCopyable>(_ values: [T]) throws -> GPUBuffer {
        let buffer = try allocate(bytes: UInt64(values.count * MemoryLayout<T>.stride))
        try values.withUnsafeBytes { try upload($0, to: buffer) }
        return buffer
    }

    /// Reads `count` values of `type` from the start of `buffer`.
    public func read<T: BitwiseCopyable>(_ buffer: GPUBuffer, as type: T.Type, count: Int,
                                         offset: UInt64 = 0) throws -> [T] {
        var values = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        try values.withUnsafeMutableBytes { try download(buffer, offset: offset, into: $0) }
        return values
    }
}
