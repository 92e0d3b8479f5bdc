/// What a graph run will hold on the device, predicted before it runs (`Graph.memoryPlan`).
public struct MemoryPlan: Sendable, Equatable {
    /// Bytes of arena slots for intermediates, from an empty arena (slots are never freed during a run, so this is
    /// also their peak).
    public var activationBytes: UInt64 = 0
    /// Bytes of the outputs, which get storage of their own.
    public var outputBytes: UInt64 = 0
    /// Arena slots created.
    public var slots = 0

    /// Everything the run adds to the device's live bytes at its peak (inputs already resident not counted).
    public var peakBytes: UInt64 { activationBytes + outputBytes }
}
