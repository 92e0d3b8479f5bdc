import Foundation

/// What a render did, written next to its output as JSON and as a short summary: per stage its time, predicted and
/// measured device peak, seed, whether it came from the cache and why a damaged cache entry of it was discarded.
public struct RenderReport: Sendable, Hashable, Codable {
    /// One stage.
    public struct StageRecord: Sendable, Hashable, Codable {
        public var stage: String
        public var kind: StageKind
        public var model: String?
        public var tactic: Tactic?
        /// Wall seconds of the batch the stage ran in (0 for cache hits).
        public var seconds: Double
        /// How many stages ran in that batch, sharing `seconds` (1 for cache hits).
        public var batchSize: Int
        public var predictedPeakBytes: UInt64
        public var measuredPeakBytes: UInt64?
        public var seed: UInt64?
        public var cacheHit: Bool
        /// The stage's content address.
        public var key: String
        /// Why the stage's cache entry was discarded as damaged (it was then computed again); nil when it was not.
        public var cacheDiscarded: String?
        /// The video frames the stage made or passed on (a clip's decode, upscale, interpolation, conform, a still's
        /// animation, the encode); nil for other stages.
        public var frames: Int?

        /// Frames a second over the stage's batch: nil for stages without frames, cache hits and batches of several.
        public var framesPerSecond: Double? {
            guard let frames, !cacheHit, batchSize == 1, seconds > 0 else { return nil }
            return Double(frames) / seconds
        }

        public init(stage: String, kind: StageKind, model: String?, tactic: Tactic?, seconds: Double, batchSize: Int,
                    predictedPeakBytes: UInt64, measuredPeakBytes: UInt64?, seed: UInt64?, cacheHit: Bool,
                    key: String, cacheDiscarded: String? = nil, frames: Int? = nil) {
            self.stage = stage
            self.kind = kind
            self.model = model
            self.tactic = tactic
            self.seconds = seconds
            self.batchSize = batchSize
            self.predictedPeakBytes = predictedPeakBytes
            self.measuredPeakBytes = measuredPeakBytes
            self.seed = seed
            self.cacheHit = cacheHit
            self.key = key
            self.cacheDiscarded = cacheDiscarded
            self.frames = frames
        }
    }

    public var file: String
    public var mode: RenderMode
    public var budgetBytes: UInt64
    public var seconds: Double
    public var estimatedSeconds: Double
    /// In the order they completed.
    public var stages: [StageRecord]

    public var cacheHits: Int { stages.filter(\.cacheHit).count }
    /// Stages whose damaged cache entry was discarded and computed again.
    public var cacheDiscards: Int { stages.filter { $0.cacheDiscarded != nil }.count }
    public var predictedPeakBytes: UInt64 { stages.map(\.predictedPeakBytes).max() ?? 0 }
    public var measuredPeakBytes: UInt64? { stages.compactMap(\.measuredPeakBytes).max() }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// A few lines: totals, then one line per stage that ran (saying when it replaced a damaged cache entry).
    public func summary() -> String {
        var totals = "Rendered \(file) (\(mode.rawValue)) in \(Plan.duration(seconds)) (estimated "
            + "\(Plan.duration(estimatedSeconds))): \(stages.count) stages, \(cacheHits) from cache"
        if cacheDiscards > 0 {
            totals += ", \(cacheDiscards) damaged cache \(cacheDiscards == 1 ? "entry" : "entries") replaced"
        }
        var lines = [totals]
        var peak = "Device peak: predicted \(ByteAmount(predictedPeakBytes))"
        if let measured = measuredPeakBytes { peak += ", measured \(ByteAmount(measured))" }
        lines.append(peak + " of a \(ByteAmount(budgetBytes)) budget")
        for record in stages where !record.cacheHit {
            var line = "  \(record.stage)  \(Plan.duration(record.seconds))"
            if record.batchSize > 1 { line += " (batch of \(record.batchSize))" }
            if let rate = record.framesPerSecond, let frames = record.frames {
                line += String(format: "  %d frames, %.1f frames/s", frames, rate)
            }
            if record.model != nil {
                line += "  peak \(ByteAmount(record.predictedPeakBytes)) predicted"
                if let measured = record.measuredPeakBytes { line += ", \(ByteAmount(measured)) measured" }
            }
            if let seed = record.seed { line += "  seed \(seed)" }
            if let reason = record.cacheDiscarded {
                line += "  (damaged cache entry replaced: "
                    + reason.split(whereSeparator: \.isNewline).joined(separator: " ") + ")"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// Writes `report.json` and `report.txt` into `folder`, each under a temporary name renamed when complete.
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try json().write(to: folder.appendingPathComponent("report.json"), options: .atomic)
        try Data((summary() + "\n").utf8).write(to: folder.appendingPathComponent("report.txt"), options: .atomic)
    }

    /// Writes the report next to a render's `output`: `<name>.report.json` and `<name>.report.txt` (for
    /// `demo.mp4`, `demo.report.json`), each atomically. Returns the two files.
    @discardableResult
    public func write(besides output: URL) throws -> (json: URL, summary: URL) {
        let stem = output.deletingPathExtension()
        let files = (json: URL(fileURLWithPath: stem.path + ".report.json"),
                     summary: URL(fileURLWithPath: stem.path + ".report.txt"))
        try json().write(to: files.json, options: .atomic)
        try Data((summary() + "\n").utf8).write(to: files.summary, options: .atomic)
        return files
    }
}
