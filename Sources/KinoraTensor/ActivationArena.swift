import KinoraGPU

/// Device buffers ("slots") that hold a graph's intermediates, reused as soon as a value's last reader has run.
///
/// Slots outlive a graph run, so a model that runs the same graph every step (a denoiser) allocates once.
/// Reusing a slot while the GPU may still read its previous value is safe: the command stream orders the
/// new writes after the old reads with a barrier.
public final class ActivationArena: @unchecked Sendable {
    /// Slot sizes are rounded up to this many bytes so similar requests share slots.
    static let granularity: UInt64 = 64 << 10

    public let device: GPUDevice
    private var free: [GPUBuffer] = []
    private var inUse: [ObjectIdentifier: GPUBuffer] = [:]

    public init(device: GPUDevice) {
        self.device = device
    }

    /// Slots held, in use or free.
    public var slotCount: Int { free.count + inUse.count }
    /// Bytes held by all slots.
    public var bytes: UInt64 { (free + inUse.values).reduce(0) { $0 + $1.size } }

    /// A slot of at least `bytes`: the smallest free one that fits (and wastes at most half), else a new one.
    func acquire(bytes: UInt64) throws -> GPUBuffer {
        let rounded = Self.slotSize(for: bytes)
        if let best = Self.bestFit(free.map(\.size), for: rounded) {
            let slot = free.remove(at: best)
            inUse[ObjectIdentifier(slot)] = slot
            return slot
        }
        let slot: GPUBuffer
        do {
            slot = try device.allocate(bytes: rounded)
        } catch GPUError.outOfMemory {
            // Free slots that did not fit this request may make room for it.
            free.removeAll()
            slot = try device.allocate(bytes: rounded)
        }
        inUse[ObjectIdentifier(slot)] = slot
        return slot
    }

    /// The slot size for a request of `bytes`.
    public static func slotSize(for bytes: UInt64) -> UInt64 {
        (max(bytes, 4) + granularity - 1) / granularity * granularity
    }

    /// The index of the smallest free slot that holds `rounded` bytes and wastes at most half of itself.
    static func bestFit(_ sizes: [UInt64], for rounded: UInt64) -> Int? {
        sizes.indices.filter { sizes[$0] >= rounded && sizes[$0] <= 2 * rounded }.min { sizes[$0] < sizes[$1] }
    }

    /// Returns a slot for reuse.
    func release(_ slot: GPUBuffer) {
        guard let slot = inUse.removeValue(forKey: ObjectIdentifier(slot)) else { return }
        free.append(slot)
    }

    /// Frees the slots not in use.
    public func trim() {
        free.removeAll()
    }
}
