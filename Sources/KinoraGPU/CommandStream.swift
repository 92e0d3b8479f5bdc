import CVulkan
import Foundation

/// How a dispatch uses one of its buffers; decides where barriers go.
public enum BufferAccess: Sendable {
    case read, write, readWrite

    var reads: Bool { self != .write }
    var writes: Bool { self != .read }
}

/// One buffer (or a byte range of it) bound to a dispatch, at binding index = its position in the list.
public struct BufferBinding {
    public var buffer: GPUBuffer
    public var access: BufferAccess
    /// Start of the bound range inside `buffer`; a multiple of `minStorageBufferOffsetAlignment`.
    public var offset: UInt64
    /// Bytes bound.
    public var length: UInt64

    public init(_ buffer: GPUBuffer, _ access: BufferAccess, offset: UInt64 = 0, length: UInt64? = nil) {
        self.buffer = buffer
        self.access = access
        self.offset = offset
        self.length = length ?? (buffer.size - offset)
    }

    var byteRange: ByteRange {
        let start = buffer.offset + offset
        return ByteRange(blockID: buffer.blockID, start: start, end: start + max(length, 1))
    }
}

/// The GPU time of one recorded dispatch, from timestamp queries.
public struct DispatchTiming: Sendable {
    public var label: String
    /// The shader variant that ran.
    public var kernel: String = ""
    public var nanoseconds: Double
}

/// Records dispatches into command buffers and submits them in batches sized by work.
///
/// A memory barrier is recorded only when a dispatch reads a byte range that an earlier, unsynchronised dispatch
/// wrote, or writes a range that one read or wrote. A batch is submitted (without waiting) once it holds
/// `maxDispatchesPerBatch` dispatches or its work passes a threshold that grows from 2 to 200 GFLOP over the
/// first submits, so recording overlaps execution. `finish()` waits for everything.
public final class CommandStream {
    /// Dispatches per command buffer before it is submitted.
    public let maxDispatchesPerBatch: Int
    /// Whether each dispatch is bracketed by timestamp queries: asked for, or the device's `profile` is on.
    public let profiling: Bool
    /// Barriers recorded so far.
    public private(set) var barrierCount = 0
    /// Dispatches recorded so far.
    public private(set) var dispatchCount = 0
    /// Command buffers submitted so far.
    public private(set) var submitCount = 0

    private let device: GPUDevice
    private var current: CommandBatch?
    private var inFlight: [CommandBatch] = []
    private var idle: [CommandBatch] = []
    private var unsyncedWrites: [ByteRange] = []
    private var unsyncedReads: [ByteRange] = []
    private var workThreshold = 2e9
    private var timings: [DispatchTiming] = []

    public init(device: GPUDevice, profiling: Bool = false, maxDispatchesPerBatch: Int = 100) {
        self.device = device
        self.profiling = (profiling || device.profile.isEnabled) && device.physical.features.timestamps
        self.maxDispatchesPerBatch = maxDispatchesPerBatch
    }

    deinit {
        // Work still in flight must complete before its command buffers and the buffers it uses are freed.
        for batch in inFlight { batch.wait() }
    }

    /// Records `pipeline` over `groups` workgroups with `bindings` and `pushConstants` (at most 32 words).
    /// `work` (e.g. FLOPs) paces batch submission; `label` names the dispatch in timings.
    public func dispatch(_ pipeline: ComputePipeline, bindings: [BufferBinding], pushConstants: [UInt32] = [],
                         groups: (x: UInt32, y: UInt32, z: UInt32), label: String = "", work: Double = 0) throws {
        guard bindings.count <= PipelineCache.maxBindings else {
            throw GPUError.invalidArgument("\(pipeline.shader): \(bindings.count) bindings exceed the layout's "
                + "\(PipelineCache.maxBindings)")
        }
        guard pushConstants.count * 4 <= PipelineCache.pushConstantBytes else {
            throw GPUError.invalidArgument("\(pipeline.shader): \(pushConstants.count * 4) bytes of push constants "
                + "exceed \(PipelineCache.pushConstantBytes)")
        }
        let limits = device.maxWorkgroupCount
        guard groups.x >= 1, groups.y >= 1, groups.z >= 1, groups.x <= limits.0, groups.y <= limits.1,
              groups.z <= limits.2 else {
            throw GPUError.invalidArgument("\(pipeline.shader): workgroup count \(groups) is outside the device "
                + "limits \(limits)")
        }
        let alignment = device.physical.features.minStorageBufferOffsetAlignment
        for binding in bindings where binding.offset % alignment != 0 || binding.offset + binding.length
            > binding.buffer.size || binding.length == 0 {
            throw GPUError.invalidArgument("\(pipeline.shader): binding of \(binding.length) bytes at offset "
                + "\(binding.offset) is empty, misaligned (alignment \(alignment)) or outside its "
                + "\(binding.buffer.size)-byte buffer")
        }
        let batch = try currentBatch()
        synchronize(reads: bindings.filter(\.access.reads).map(\.byteRange),
                    writes: bindings.filter(\.access.writes).map(\.byteRange), in: batch)
        try batch.recordDispatch(pipeline, bindings: bindings, pushConstants: pushConstants, groups: groups,
                                 layout: device.pipelines, label: label)
        dispatchCount += 1
        batch.work += work
        if batch.dispatches >= maxDispatchesPerBatch || batch.work >= workThreshold { try submit() }
    }

    /// Records a copy of `bytes` from `source` to `destination` (both from their start).
    public func copy(from source: GPUBuffer, to destination: GPUBuffer, bytes: UInt64,
                     sourceOffset: UInt64 = 0, destinationOffset: UInt64 = 0) throws {
        guard sourceOffset + bytes <= source.size, destinationOffset + bytes <= destination.size else {
            throw GPUError.invalidArgument("copy of \(bytes) bytes is outside the source (\(source.size) B) or "
                + "destination (\(destination.size) B)")
        }
        let batch = try currentBatch()
        synchronize(reads: [source.byteRange], writes: [destination.byteRange], in: batch)
        batch.recordCopy(from: source, to: destination, bytes: bytes, sourceOffset: sourceOffset,
                         destinationOffset: destinationOffset)
    }

    /// Submits what has been recorded, without waiting.
    public func submit() throws {
        guard let batch = current else { return }
        current = nil
        try batch.submit(to: device.logical.queue)
        inFlight.append(batch)
        submitCount += 1
        workThreshold = min(workThreshold * 2, 200e9)
    }

    /// Submits what has been recorded, waits for all submitted work, and returns the dispatch timings gathered
    /// since the last `finish()` (empty without profiling).
    @discardableResult
    public func finish() throws -> [DispatchTiming] {
        try submit()
        var failure: Error?
        for batch in inFlight {
            do {
                try batch.waitChecked()
                timings += batch.timings(periodNanoseconds: device.physical.features.timestampPeriodNanoseconds)
            } catch {
                failure = failure ?? error
            }
            batch.release()
            idle.append(batch)
        }
        inFlight.removeAll()
        // All work has completed: nothing is unsynchronised any more.
        unsyncedReads.removeAll()
        unsyncedWrites.removeAll()
        if let failure { throw failure }
        if profiling { device.profile.record(timings) }
        defer { timings.removeAll() }
        return timings
    }

    private func currentBatch() throws -> CommandBatch {
        if let current { return current }
        let batch = try idle.popLast() ?? CommandBatch(device: device, capacity: maxDispatchesPerBatch)
        try batch.begin(timestamps: profiling)
        current = batch
        return batch
    }

    private func synchronize(reads: [ByteRange], writes: [ByteRange], in batch: CommandBatch) {
        let hazard = reads.contains { read in unsyncedWrites.contains { $0.overlaps(read) } }
            || writes.contains { write in
                unsyncedWrites.contains { $0.overlaps(write) } || unsyncedReads.contains { $0.overlaps(write) }
            }
        if hazard {
            batch.recordBarrier()
            barrierCount += 1
            unsyncedReads.removeAll()
            unsyncedWrites.removeAll()
        }
        unsyncedReads += reads
        unsyncedWrites += writes
    }
}
