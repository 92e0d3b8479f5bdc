import Foundation

/// What this machine's renders measured against the plan's time estimates: per device and per model family and
/// stage kind (`sd15/denoise`), decayed sums of measured and estimated seconds, whose ratio scales the next plan's
/// estimates (`DeviceProfile.timeFactors`). The catalog's compute figures and the device's nominal rate give the
/// first estimate; every render on the device corrects it. Kept as JSON in the cache folder (`timings.json`).
public struct TimeCalibration: Sendable, Hashable, Codable {
    /// Seconds of one family's stage kind on one device.
    public struct Entry: Sendable, Hashable, Codable {
        /// Measured seconds, each earlier render's share halved at every new one.
        public var measuredSeconds: Double
        /// The uncalibrated estimates of the same runs, decayed alike.
        public var estimatedSeconds: Double
        public var renders: Int
    }

    /// Entries by device name, then by `family/kind`.
    public var devices: [String: [String: Entry]] = [:]

    /// The file's name in the cache folder.
    public static let fileName = "timings.json"
    /// A factor is kept within [1/1000, 1000] so one odd render cannot make estimates absurd.
    static let factorRange = 1e-3...1e3

    public init() {}

    /// The key of `kind` stages of a model of `family`.
    public static func key(family: String, kind: StageKind) -> String { "\(family)/\(kind.rawValue)" }

    /// Measured over estimated seconds for each `family/kind` seen on `device`.
    public func factors(device: String) -> [String: Double] {
        (devices[device] ?? [:]).compactMapValues { entry in
            guard entry.estimatedSeconds > 0, entry.measuredSeconds > 0 else { return nil }
            let ratio = entry.measuredSeconds / entry.estimatedSeconds
            return min(max(ratio, Self.factorRange.lowerBound), Self.factorRange.upperBound)
        }
    }

    /// Adds what `report` measured for the run steps of `plan` (made for `graph` on `device`): a step counts when
    /// none of its stages came from the cache; its estimate is taken back to the uncalibrated figure.
    public mutating func record(_ report: RenderReport, plan: Plan, graph: StageGraph, device: String) {
        let records = Dictionary(report.stages.map { ($0.stage, $0) }, uniquingKeysWith: { _, last in last })
        var entries = devices[device] ?? [:]
        var sums: [String: (measured: Double, estimated: Double)] = [:]
        for step in plan.steps where step.action == .run {
            guard let modelKey = step.modelKey, let kind = step.kind,
                  let family = graph.models[modelKey]?.identity.family else { continue }
            let stages = step.stages.compactMap { records[$0] }
            guard stages.count == step.stages.count, !stages.isEmpty, stages.allSatisfy({ !$0.cacheHit }) else {
                continue
            }
            let key = Self.key(family: family, kind: kind)
            let factor = plan.device.timeFactors[key] ?? 1
            // The stages of a batch share its seconds.
            let measured = stages.map(\.seconds).max() ?? 0
            sums[key, default: (0, 0)].measured += measured
            sums[key, default: (0, 0)].estimated += step.estimatedSeconds / factor
        }
        for (key, sum) in sums {
            let old = entries[key]
            entries[key] = Entry(measuredSeconds: (old?.measuredSeconds ?? 0) / 2 + sum.measured,
                                 estimatedSeconds: (old?.estimatedSeconds ?? 0) / 2 + sum.estimated,
                                 renders: (old?.renders ?? 0) + 1)
        }
        devices[device] = entries
    }

    /// The calibration stored at `url`; empty when there is none or it cannot be read (it is only an estimate).
    public static func load(from url: URL) -> TimeCalibration {
        guard let data = try? Data(contentsOf: url),
              let calibration = try? JSONDecoder().decode(TimeCalibration.self, from: data) else {
            return TimeCalibration()
        }
        return calibration
    }

    /// Writes the calibration to `url` whole (a temporary file renamed over it).
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
