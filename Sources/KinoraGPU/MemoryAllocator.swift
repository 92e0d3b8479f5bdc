import CVulkan
import Foundation

/// One `VkDeviceMemory` with one `VkBuffer` over it, carved into sub-allocations.
final class MemoryBlock {
    let id: Int
    let kind: MemoryKind
    let memory: VkDeviceMemory
    let buffer: VkBuffer
    let size: UInt64
    let mapped: UnsafeMutableRawPointer?
    let dedicated: Bool
    /// Free ranges sorted by offset, never adjacent (they are merged on release).
    var free: [(offset: UInt64, size: UInt64)]

    init(id: Int, kind: MemoryKind, memory: VkDeviceMemory, buffer: VkBuffer, size: UInt64,
         mapped: UnsafeMutableRawPointer?, dedicated: Bool) {
        self.id = id
        self.kind = kind
        self.memory = memory
        self.buffer = buffer
        self.size = size
        self.mapped = mapped
        self.dedicated = dedicated
        free = [(0, size)]
    }

    var isEmpty: Bool { free.count == 1 && free[0].size == size }

    /// First fit: the offset of a free range of `bytes`, or nil.
    func take(_ bytes: UInt64) -> UInt64? {
        guard let index = free.firstIndex(where: { $0.size >= bytes }) else { return nil }
        let range = free[index]
        if range.size == bytes {
            free.remove(at: index)
        } else {
            free[index] = (range.offset + bytes, range.size - bytes)
        }
        return range.offset
    }

    func give(offset: UInt64, size: UInt64) {
        let index = free.firstIndex { $0.offset > offset } ?? free.count
        free.insert((offset, size), at: index)
        if index + 1 < free.count, free[index].offset + free[index].size == free[index + 1].offset {
            free[index].size += free[index + 1].size
            free.remove(at: index + 1)
        }
        if index > 0, free[index - 1].offset + free[index - 1].size == free[index].offset {
            free[index - 1].size += free[index].size
            free.remove(at: index)
        }
    }
}

/// Sub-allocates buffers from large blocks, keeps every buffer inside the device's limits, enforces a budget,
/// and accounts current and peak bytes.
public final class MemoryAllocator: @unchecked Sendable {
    /// Bytes of one ordinary block; larger requests get a block of their own.
    public let blockSize: UInt64
    /// The largest single buffer: min(maxStorageBufferRange, maxMemoryAllocationSize).
    public let maxBufferSize: UInt64
    let alignment: UInt64
    private let device: LogicalDevice
    private let lock = NSLock()
    private var blocks: [MemoryBlock] = []
    private var nextBlockID = 0
    private var budgetBytes: UInt64
    private var live: UInt64 = 0
    private var peak: UInt64 = 0
    private var reserved: UInt64 = 0

    init(device: LogicalDevice, budget: UInt64) {
        self.device = device
        let features = device.physical.features
        maxBufferSize = min(features.maxStorageBufferRange, features.maxMemoryAllocationSize)
        blockSize = min(256 << 20, features.maxMemoryAllocationSize)
        alignment = max(256, features.minStorageBufferOffsetAlignment)
        budgetBytes = budget
    }

    deinit {
        for block in blocks { destroy(block) }
    }

    /// The device-local bytes this process may hold at once. Staging (host) memory is not counted.
    public var budget: UInt64 {
        get { lock.withLock { budgetBytes } }
        set { lock.withLock { budgetBytes = newValue } }
    }

    /// Device-local bytes held by live buffers.
    public var liveBytes: UInt64 { lock.withLock { live } }
    /// What the budget leaves beside the live buffers (0 when they already exceed it).
    public var availableBytes: UInt64 { lock.withLock { budgetBytes - min(live, budgetBytes) } }
    /// The most device-local bytes held by live buffers since creation or the last `resetPeak()`.
    public var peakBytes: UInt64 { lock.withLock { peak } }
    /// Device-local bytes in blocks (live buffers plus free space inside blocks).
    public var reservedBytes: UInt64 { lock.withLock { reserved } }

    /// The bytes `allocate(bytes:)` reserves (and adds to the live bytes) for a buffer of `bytes`: at least 4, rounded
    /// up to the allocator's alignment.
    public func allocationSize(for bytes: UInt64) -> UInt64 {
        (max(bytes, 4) + alignment - 1) / alignment * alignment
    }

    /// Starts a new peak measurement from the current live bytes.
    public func resetPeak() { lock.withLock { peak = live } }

    /// Allocates `bytes` of `kind` memory; throws `outOfMemory` over the budget and `bufferTooLarge` over the
    /// device limits.
    public func allocate(bytes: UInt64, kind: MemoryKind = .device) throws -> GPUBuffer {
        let size = max(bytes, 4)
        guard size <= maxBufferSize else { throw GPUError.bufferTooLarge(requested: size, limit: maxBufferSize) }
        let rounded = allocationSize(for: size)
        return try lock.withLock {
            if kind == .device, live + rounded > budgetBytes {
                throw GPUError.outOfMemory(requested: rounded, available: budgetBytes - min(live, budgetBytes),
                                           budget: budgetBytes)
            }
            for block in blocks where block.kind == kind && !block.dedicated {
                if let offset = block.take(rounded) { return account(size, kind, block, offset, rounded) }
            }
            let dedicated = rounded > blockSize
            var blockBytes = dedicated ? rounded : blockSize
            if kind == .device {
                trimEmptyBlocks()
                let headroom = budgetBytes - min(reserved, budgetBytes)
                guard headroom >= rounded else {
                    throw GPUError.outOfMemory(requested: rounded, available: headroom, budget: budgetBytes)
                }
                blockBytes = min(blockBytes, max(rounded, headroom / alignment * alignment))
            }
            let block = try createBlock(bytes: blockBytes, kind: kind, dedicated: dedicated)
            guard let offset = block.take(rounded) else {
                throw GPUError.invalidArgument("internal: a new memory block could not hold its first allocation")
            }
            return account(size, kind, block, offset, rounded)
        }
    }

    /// Frees blocks that hold no buffers.
    public func trim() { lock.withLock { trimEmptyBlocks() } }

    private func account(_ size: UInt64, _ kind: MemoryKind, _ block: MemoryBlock, _ offset: UInt64,
                         _ rounded: UInt64) -> GPUBuffer {
        if kind == .device {
            live += rounded
            peak = max(peak, live)
        }
        return GPUBuffer(size: size, kind: kind, block: block, offset: offset, reserved: rounded, allocator: self)
    }

    func release(blockID: Int, offset: UInt64, reserved bytes: UInt64) {
        lock.withLock {
            guard let index = blocks.firstIndex(where: { $0.id == blockID }) else { return }
            let block = blocks[index]
            block.give(offset: offset, size: bytes)
            if block.kind == .device { live -= bytes }
            if block.dedicated && block.isEmpty {
                blocks.remove(at: index)
                destroy(block)
            }
        }
    }

    private func trimEmptyBlocks() {
        let empty = blocks.filter(\.isEmpty)
        blocks.removeAll { $0.isEmpty }
        empty.forEach(destroy)
    }

    private func destroy(_ block: MemoryBlock) {
        if block.kind == .device { reserved -= block.size }
        if block.mapped != nil { device.vk.vkUnmapMemory(device.handle, block.memory) }
        device.vk.vkDestroyBuffer(device.handle, block.buffer, nil)
        device.vk.vkFreeMemory(device.handle, block.memory, nil)
    }

    private func createBlock(bytes: UInt64, kind: MemoryKind, dedicated: Bool) throws -> MemoryBlock {
        let vk = device.vk
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = bytes
        info.usage = UInt32(VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try VulkanResult.check(vk.vkCreateBuffer(device.handle, &info, nil, &buffer), "vkCreateBuffer")
        guard let buffer else { throw GPUError.vulkan(call: "vkCreateBuffer", result: VK_ERROR_UNKNOWN.rawValue) }
        var requirements = VkMemoryRequirements()
        vk.vkGetBufferMemoryRequirements(device.handle, buffer, &requirements)
        guard let typeIndex = memoryType(bits: requirements.memoryTypeBits, kind: kind) else {
            vk.vkDestroyBuffer(device.handle, buffer, nil)
            throw GPUError.noDevice("\(device.physical.name) has no memory type for \(kind) buffers")
        }
        var allocateInfo = VkMemoryAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocateInfo.allocationSize = requirements.size
        allocateInfo.memoryTypeIndex = typeIndex.index
        var memory: VkDeviceMemory?
        let result = vk.vkAllocateMemory(device.handle, &allocateInfo, nil, &memory)
        guard result == VK_SUCCESS, let memory else {
            vk.vkDestroyBuffer(device.handle, buffer, nil)
            if result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY {
                throw GPUError.outOfMemory(requested: bytes, available: 0, budget: budgetBytes)
            }
            throw GPUError.vulkan(call: "vkAllocateMemory", result: result.rawValue)
        }
        do {
            try VulkanResult.check(vk.vkBindBufferMemory(device.handle, buffer, memory, 0), "vkBindBufferMemory")
            var mapped: UnsafeMutableRawPointer?
            if typeIndex.hostVisible {
                try VulkanResult.check(vk.vkMapMemory(device.handle, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0,
                                                      &mapped), "vkMapMemory")
            }
            let block = MemoryBlock(id: nextBlockID, kind: kind, memory: memory, buffer: buffer, size: bytes,
                                    mapped: mapped, dedicated: dedicated)
            nextBlockID += 1
            blocks.append(block)
            if kind == .device { reserved += bytes }
            return block
        } catch {
            vk.vkDestroyBuffer(device.handle, buffer, nil)
            vk.vkFreeMemory(device.handle, memory, nil)
            throw error
        }
    }

    /// Device-local first for tensors (host-visible too when the device offers it, as on integrated GPUs and
    /// lavapipe, which lets uploads skip staging); host-visible, coherent and preferably cached for staging.
    private func memoryType(bits: UInt32, kind: MemoryKind) -> (index: UInt32, hostVisible: Bool)? {
        var properties = VkPhysicalDeviceMemoryProperties()
        device.vk.vkGetPhysicalDeviceMemoryProperties(device.physical.handle, &properties)
        let types = withUnsafeBytes(of: properties.memoryTypes) { Array($0.bindMemory(to: VkMemoryType.self)) }
        let local = UInt32(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue)
        let visible = UInt32(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue)
        let coherent = UInt32(VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue)
        let cached = UInt32(VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue)
        let wanted: [UInt32]
        switch kind {
        case .device: wanted = [local | visible | coherent, local, 0]
        case .host: wanted = [visible | coherent | cached, visible | coherent]
        }
        let heaps = withUnsafeBytes(of: properties.memoryHeaps) { Array($0.bindMemory(to: VkMemoryHeap.self)) }
        let largestHeap = (0..<Int(properties.memoryHeapCount)).max { heaps[$0].size < heaps[$1].size } ?? 0
        for flags in wanted {
            for index in 0..<Int(properties.memoryTypeCount) where bits & (1 << UInt32(index)) != 0 {
                let available = types[index].propertyFlags
                // A host-visible device-local type counts only when it is the main heap (UMA or resizable BAR),
                // not the 256 MiB BAR window of a discrete card.
                let isSmallWindow = flags == local | visible | coherent && Int(types[index].heapIndex) != largestHeap
                if available & flags == flags && !isSmallWindow {
                    return (UInt32(index), available & (visible | coherent) == visible | coherent)
                }
            }
        }
        return nil
    }
}
