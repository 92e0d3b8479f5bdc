/// The device limits a recorded computation must respect to run on a device: workgroup counts per dispatch, the
/// bytes one storage-buffer binding may cover, the bytes one allocation may take. Presets hold what the drivers our
/// users have report, so that full-size work can be checked against cards this machine does not have
/// (`Graph.limitViolations`).
public struct DeviceLimits: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    /// `maxComputeWorkGroupCount` (x, y, z).
    public var maxWorkgroupCount: [UInt32]
    /// `maxStorageBufferRange`: the most bytes one binding covers.
    public var maxStorageBufferRange: UInt64
    /// `maxMemoryAllocationSize`: the most bytes one allocation (so one buffer) takes.
    public var maxMemoryAllocationSize: UInt64

    public init(
        name: String, maxWorkgroupCount: [UInt32], maxStorageBufferRange: UInt64, maxMemoryAllocationSize: UInt64
    ) {
        self.name = name
        self.maxWorkgroupCount = maxWorkgroupCount
        self.maxStorageBufferRange = maxStorageBufferRange
        self.maxMemoryAllocationSize = maxMemoryAllocationSize
    }

    /// What `device` reports.
    public static func of(_ device: GPUDevice) -> DeviceLimits {
        let counts = device.maxWorkgroupCount
        return DeviceLimits(
            name: device.physical.name, maxWorkgroupCount: [counts.0, counts.1, counts.2],
            maxStorageBufferRange: device.physical.features.maxStorageBufferRange,
            maxMemoryAllocationSize: device.physical.features.maxMemoryAllocationSize)
    }

    /// NVIDIA's proprietary driver: 2³¹ − 1 workgroups on x, 65,535 on y and z; bindings up to 4 GiB − 1 (the
    /// 32-bit field's limit); allocations beyond 4 GiB succeed (the limit is soft there, llama.cpp PR #16354), so
    /// 4 GiB − 1 is the bound a buffer that is also one binding meets.
    public static let nvidia = DeviceLimits(
        name: "NVIDIA", maxWorkgroupCount: [2_147_483_647, 65_535, 65_535], maxStorageBufferRange: 4_294_967_295,
        maxMemoryAllocationSize: 4_294_967_295)
    /// Mesa's RADV (AMD): 2³² − 1 workgroups on x, 65,535 on y and z; bindings up to 4 GiB − 1; allocations up to
    /// 4 GiB (AMDVLK#413, quoting llama.cpp's Vulkan maintainers).
    public static let radv = DeviceLimits(
        name: "AMD RADV", maxWorkgroupCount: [4_294_967_295, 65_535, 65_535], maxStorageBufferRange: 4_294_967_295,
        maxMemoryAllocationSize: 4 << 30)
    /// AMD's AMDVLK and proprietary drivers: as RADV, with allocations up to 2 GiB (AMDVLK#413).
    public static let amdvlk = DeviceLimits(
        name: "AMDVLK", maxWorkgroupCount: [4_294_967_295, 65_535, 65_535], maxStorageBufferRange: 4_294_967_295,
        maxMemoryAllocationSize: 2 << 30)
    /// Mesa's ANV (Intel Gfx9 and later): 65,535 workgroups on every axis; bindings up to 4 GiB − 1 (ISL's raw
    /// buffer size, 2³² on Gfx9+, within the 32-bit field); allocations up to 2 GiB (`MAX_MEMORY_ALLOCATION_SIZE`,
    /// `1 << 31` in `anv_private.h`).
    public static let anv = DeviceLimits(
        name: "Intel ANV", maxWorkgroupCount: [65_535, 65_535, 65_535], maxStorageBufferRange: 4_294_967_295,
        maxMemoryAllocationSize: 2 << 30)
    /// The Vulkan specification's minimums, which every device meets: 65,535 workgroups on every axis, bindings of
    /// 2²⁷ bytes (lavapipe's own limit), allocations of 1 GiB (Vulkan 1.1).
    public static let specificationMinimum = DeviceLimits(
        name: "Vulkan minimum", maxWorkgroupCount: [65_535, 65_535, 65_535], maxStorageBufferRange: 1 << 27,
        maxMemoryAllocationSize: 1 << 30)

    /// The drivers of the cards users have.
    public static let desktopDrivers: [DeviceLimits] = [.nvidia, .radv, .amdvlk, .anv]

    /// The largest buffer that is both one allocation and one binding.
    public var maxBufferSize: UInt64 { min(maxStorageBufferRange, maxMemoryAllocationSize) }

    public var description: String {
        "\(name) (workgroups \(maxWorkgroupCount.map(String.init).joined(separator: " × ")), bindings "
            + "\(ByteCount(maxStorageBufferRange)), allocations \(ByteCount(maxMemoryAllocationSize)))"
    }
}
