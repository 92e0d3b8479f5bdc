import CVulkan

/// A Vulkan physical device: what it is, what it can do, and its memory.
public struct PhysicalDevice: @unchecked Sendable {
    /// The kind of device, in the order Kinora prefers them.
    public enum Kind: String, Sendable, Comparable {
        case discrete, integrated, virtual, cpu, other

        var preference: Int {
            switch self {
            case .discrete: return 0
            case .integrated: return 1
            case .virtual: return 2
            case .other: return 3
            case .cpu: return 4
            }
        }

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.preference < rhs.preference }
    }

    /// A memory heap with its size and, where `VK_EXT_memory_budget` exists, budget and usage.
    public struct Heap: Sendable, Codable {
        public var size: UInt64
        public var deviceLocal: Bool
        public var budget: UInt64?
        public var usage: UInt64?
    }

    /// Feature and limit facts that decide which kernels can run.
    public struct Features: Sendable, Codable {
        public var storage16Bit: Bool
        public var storage8Bit: Bool
        public var float16Arithmetic: Bool
        public var int8Arithmetic: Bool
        public var subgroupSize: UInt32
        public var minSubgroupSize: UInt32
        public var maxSubgroupSize: UInt32
        public var subgroupSizeControl: Bool
        /// Whether a compute pipeline can require its subgroup size (subgroup size control, with compute among the
        /// `requiredSubgroupSizeStages`), as the kernels that deal tiles to subgroups need.
        public var computeSubgroupSizeControl: Bool
        public var subgroupArithmetic: Bool
        public var computeFullSubgroups: Bool
        public var cooperativeMatrix: Bool
        /// Cooperative-matrix shapes with f16 inputs, as "MxNxK f16->f32" strings.
        public var cooperativeMatrixShapes: [String]
        public var memoryBudget: Bool
        public var maxSharedMemory: UInt32
        public var maxStorageBufferRange: UInt64
        public var maxMemoryAllocationSize: UInt64
        public var maxWorkgroupInvocations: UInt32
        public var maxPushConstantsSize: UInt32
        public var minStorageBufferOffsetAlignment: UInt64
        public var timestampPeriodNanoseconds: Double
        public var timestamps: Bool
    }

    let instance: VulkanInstance
    let handle: VkPhysicalDevice
    /// Position in the loader's enumeration, used by `--device N`.
    public let index: Int
    public let name: String
    public let kind: Kind
    public let vendorID: UInt32
    public let deviceID: UInt32
    public let apiVersion: String
    public let driverName: String
    public let driverInfo: String
    /// The driver's own version number (`driverVersion`), in its vendor's encoding.
    public let driverVersion: UInt32
    /// The identity of the driver's pipeline-cache format (`pipelineCacheUUID`), 16 bytes.
    public let pipelineCacheUUID: [UInt8]
    public let features: Features
    let capabilities: KvkDeviceCapabilities
    let computeQueueFamily: UInt32?

    init(instance: VulkanInstance, handle: VkPhysicalDevice, index: Int) {
        self.instance = instance
        self.handle = handle
        self.index = index
        let vk = instance.vk
        var properties = VkPhysicalDeviceProperties()
        vk.vkGetPhysicalDeviceProperties(handle, &properties)
        var capabilities = KvkDeviceCapabilities()
        kvk_query_capabilities(handle, &capabilities)
        self.capabilities = capabilities

        name = fixedString(properties.deviceName)
        switch properties.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: kind = .discrete
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: kind = .integrated
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: kind = .virtual
        case VK_PHYSICAL_DEVICE_TYPE_CPU: kind = .cpu
        default: kind = .other
        }
        vendorID = properties.vendorID
        deviceID = properties.deviceID
        driverVersion = properties.driverVersion
        pipelineCacheUUID = withUnsafeBytes(of: properties.pipelineCacheUUID) { Array($0) }
        let version = properties.apiVersion
        apiVersion = "\(version >> 22).\((version >> 12) & 0x3ff).\(version & 0xfff)"
        driverName = fixedString(capabilities.driverName)
        driverInfo = fixedString(capabilities.driverInfo)

        var shapes = [KvkCooperativeMatrixShape](repeating: KvkCooperativeMatrixShape(), count: 32)
        let shapeCount = Int(kvk_cooperative_matrix_shapes(handle, &shapes, 32))
        let f16Shapes = shapes.prefix(min(shapeCount, 32)).filter {
            $0.aType == VK_COMPONENT_TYPE_FLOAT16_KHR && $0.bType == VK_COMPONENT_TYPE_FLOAT16_KHR
                && $0.scope == VK_SCOPE_SUBGROUP_KHR
        }.map { shape in
            let accumulator = shape.cType == VK_COMPONENT_TYPE_FLOAT32_KHR ? "f32" : "f16"
            return "\(shape.m)x\(shape.n)x\(shape.k) f16->\(accumulator)"
        }
        let limits = properties.limits
        let maxAllocation = Self.maxMemoryAllocationSize(vk: vk, device: handle)
        let arithmeticBit = UInt32(VK_SUBGROUP_FEATURE_ARITHMETIC_BIT.rawValue)
        features = Features(
            storage16Bit: capabilities.storageBuffer16BitAccess,
            storage8Bit: capabilities.storageBuffer8BitAccess,
            float16Arithmetic: capabilities.shaderFloat16,
            int8Arithmetic: capabilities.shaderInt8,
            subgroupSize: capabilities.subgroupSize,
            minSubgroupSize: capabilities.minSubgroupSize,
            maxSubgroupSize: capabilities.maxSubgroupSize,
            subgroupSizeControl: capabilities.subgroupSizeControl,
            computeSubgroupSizeControl: capabilities.subgroupSizeControl
                && capabilities.requiredSubgroupSizeStages & UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue) != 0,
            subgroupArithmetic: capabilities.subgroupSupportedOperations & arithmeticBit != 0,
            computeFullSubgroups: capabilities.computeFullSubgroups,
            cooperativeMatrix: capabilities.cooperativeMatrix && !f16Shapes.isEmpty,
            cooperativeMatrixShapes: f16Shapes,
            memoryBudget: capabilities.memoryBudget,
            maxSharedMemory: limits.maxComputeSharedMemorySize,
            maxStorageBufferRange: UInt64(limits.maxStorageBufferRange),
            maxMemoryAllocationSize: maxAllocation,
            maxWorkgroupInvocations: limits.maxComputeWorkGroupInvocations,
            maxPushConstantsSize: limits.maxPushConstantsSize,
            minStorageBufferOffsetAlignment: limits.minStorageBufferOffsetAlignment,
            timestampPeriodNanoseconds: Double(limits.timestampPeriod),
            timestamps: limits.timestampComputeAndGraphics != 0
        )

        var familyCount: UInt32 = 0
        vk.vkGetPhysicalDeviceQueueFamilyProperties(handle, &familyCount, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(familyCount))
        vk.vkGetPhysicalDeviceQueueFamilyProperties(handle, &familyCount, &families)
        let computeBit = UInt32(VK_QUEUE_COMPUTE_BIT.rawValue)
        let graphicsBit = UInt32(VK_QUEUE_GRAPHICS_BIT.rawValue)
        let computeFamilies = families.enumerated().filter { $0.element.queueFlags & computeBit != 0 }
        // Prefer a compute family without graphics (an async-compute queue), as ggml does.
        let dedicated = computeFamilies.first { $0.element.queueFlags & graphicsBit == 0 }
        computeQueueFamily = (dedicated ?? computeFamilies.first).map { UInt32($0.offset) }
    }

    /// The device's memory heaps with a fresh budget reading.
    public var heaps: [Heap] {
        var memory = VkPhysicalDeviceMemoryProperties()
        instance.vk.vkGetPhysicalDeviceMemoryProperties(handle, &memory)
        var budget = [VkDeviceSize](repeating: 0, count: Int(VK_MAX_MEMORY_HEAPS))
        var usage = [VkDeviceSize](repeating: 0, count: Int(VK_MAX_MEMORY_HEAPS))
        let hasBudget = kvk_query_memory_budget(handle, &budget, &usage)
        let heapList = withUnsafeBytes(of: memory.memoryHeaps) { Array($0.bindMemory(to: VkMemoryHeap.self)) }
        let deviceLocalBit = UInt32(VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue)
        return heapList.prefix(Int(memory.memoryHeapCount)).enumerated().map { index, heap in
            Heap(size: heap.size, deviceLocal: heap.flags & deviceLocalBit != 0,
                 budget: hasBudget ? budget[index] : nil, usage: hasBudget ? usage[index] : nil)
        }
    }

    /// The bytes the process may still allocate on device-local heaps: the `VK_EXT_memory_budget` budget minus
    /// usage where available, otherwise the size of the largest device-local heap.
    public var deviceLocalBudget: UInt64 {
        let local = heaps.filter(\.deviceLocal)
        let candidates = local.isEmpty ? heaps : local
        if features.memoryBudget {
            return candidates.map { ($0.budget ?? $0.size) - min($0.usage ?? 0, $0.budget ?? $0.size) }.max() ?? 0
        }
        return candidates.map(\.size).max() ?? 0
    }

    /// The kernel tier this device runs.
    public var tier: KernelTier { KernelTier.select(for: features, isCPU: kind == .cpu) }

    private static func maxMemoryAllocationSize(vk: KvkFunctions, device: VkPhysicalDevice) -> UInt64 {
        var maintenance3 = VkPhysicalDeviceMaintenance3Properties()
        maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES
        var properties = VkPhysicalDeviceProperties2()
        properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        return withUnsafeMutablePointer(to: &maintenance3) { pointer in
            properties.pNext = UnsafeMutableRawPointer(pointer)
            vk.vkGetPhysicalDeviceProperties2(device, &properties)
            return pointer.pointee.maxMemoryAllocationSize
        }
    }
}
