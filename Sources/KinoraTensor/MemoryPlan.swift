/// What a graph run will hold on the device, predicted before it runs (`Graph.memoryPlan`).
public struct MemoryPlan: Sendable, Equatable {
    /// Bytes of arena slots for intermediates, from an empty arena (slots are never freed during a run, so this is
    /// also their peak).
    public var activationBytes: UInt64 = 0
    /// Bytes of the outputs, which get storage of their own.
    public var outputBytes: UInt64 = 0
    /// Bytes the allocator reserves for the outputs: each rounded up to its alignment
    /// (`MemoryAllocator.allocationSize(for:)`).
    public var allocatedOutputBytes: UInt64 = 0
    /// Arena slots created.
    public var slots = 0
    /// The largest single buffer the run allocates (an arena slot or an output), to hold against the device's
    /// largest buffer (`MemoryAllocator.maxBufferSize`).
    public var largestBufferBytes: UInt64 = 0

    /// Everything the run adds to the device's live bytes at its peak (inputs already resident not counted).
    public var peakBytes: UInt64 { activationBytes + outputBytes }

    /// `peakBytes` as the allocator counts it: the outputs rounded to its alignment, so that what is live before
    /// the run plus this is the allocator's peak during it.
    public var allocatedPeakBytes: UInt64 { activationBytes + allocatedOutputBytes }
}
