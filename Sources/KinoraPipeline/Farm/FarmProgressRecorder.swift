import Foundation

/// Keeps a farm part's record up to date as its render goes: written when it starts, again each time a stage
/// finishes or comes from the cache, and at the end as done or failed. A record that cannot be written while the
/// render goes is retried at the next event (progress is only shown with it); `finish` and `fail` throw.
public final class FarmProgressRecorder: ProgressSink {
    public private(set) var record: FarmRecord
    private let folder: FarmFolder
    private let clock: () -> Date
    private var done: Set<String> = []
    private var computed: Set<String> = []

    /// Writes `record` (running) at once; throws `FarmError.storage` when it cannot.
    public init(record: FarmRecord, folder: FarmFolder, clock: @escaping () -> Date = { Date() }) throws {
        self.record = record
        self.folder = folder
        self.clock = clock
        try folder.write(record)
    }

    public func receive(_ event: ProgressEvent) {
        switch event {
        case .stageFinished(let stage, _, _):
            done.insert(stage)
            computed.insert(stage)
        case .cacheHit(let stage, _, _):
            done.insert(stage)
        case .cacheDiscarded(let stage, _):
            done.remove(stage)
            computed.remove(stage)
        default:
            return
        }
        try? store()
    }

    /// Records the part as done.
    public func finish() throws {
        record.state = .done
        try store()
    }

    /// Records the part as failed for `error`.
    public func fail(_ error: any Error) throws {
        record.state = .failed
        record.error = String(describing: error)
        try store()
    }

    private func store() throws {
        record.stagesDone = done.count
        record.stagesComputed = computed.count
        record.updated = clock()
        try folder.write(record)
    }
}
