import CVulkan

/// A range of device memory sub-allocated from a block; freed when the last reference goes away.
public final class GPUBuffer: @unchecked Sendable {
    /// The bytes the caller asked for.
    public let size: UInt64
    /// Where this buffer lives.
    public let kind: MemoryKind
    /// Identifies the block (one `VkBuffer`) for overlap tests; two buffers overlap only within one block.
    let blockID: Int
    let vkBuffer: VkBuffer
    /// Byte offset inside the block's `VkBuffer` (a multiple of the allocator's alignment).
    let offset: UInt64
    /// The bytes reserved in the block (size rounded up to the alignment).
    let reserved: UInt64
    let mapped: UnsafeMutableRawPointer?
    private let allocator: MemoryAllocator

    init(size: UInt64, kind: MemoryKind, block: MemoryBlock, offset: UInt64, reserved: UInt64,
         allocator: MemoryAllocator) {
        self.size = size
        self.kind = kind
        blockID = block.id
        vkBuffer = block.buffer
        self.offset = offset
        self.reserved = reserved
        mapped = block.mapped.map { $0 + Int(offset) }
        self.allocator = allocator
    }

    deinit { allocator.release(blockID: blockID, offset: offset, reserved: reserved) }

    /// Whether the host can read and write this buffer directly.
    public var isHostVisible: Bool { mapped != nil }

    /// The byte range this buffer occupies, for hazard tracking.
    public var byteRange: ByteRange { ByteRange(blockID: blockID, start: offset, end: offset + max(size, 1)) }
}

/// Device-local memory for tensors, or host-visible memory for staging.
public enum MemoryKind: Sendable {
    case device
    case host
}

/// A half-open byte range within one memory block.
public struct ByteRange: Hashable, Sendable {
    public var blockID: Int
    public var start: UInt64
    public var end: UInt64

    public func overlaps(_ other: ByteRange) -> Bool {
        blockID == other.blockID && start < other.end && other.start < end
    }
}
