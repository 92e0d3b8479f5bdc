import Foundation

/// The ordered steps of a render with their predicted memory and time: what `kinora plan` prints and what the
/// executor follows.
public struct Plan: Sendable, Hashable, Codable {
    public var file: String
    public var mode: RenderMode
    public var device: DeviceProfile
    public var steps: [PlanStep]

    public init(file: String, mode: RenderMode, device: DeviceProfile, steps: [PlanStep]) {
        self.file = file
        self.mode = mode
        self.device = device
        self.steps = steps
    }

    /// The largest predicted peak of any step.
    public var predictedPeakBytes: UInt64 { steps.map(\.peakBytes).max() ?? 0 }

    public var estimatedSeconds: Double { steps.reduce(0) { $0 + $1.estimatedSeconds } }

    /// How many times each model (by display name) is loaded.
    public var loadCounts: [String: Int] {
        steps.filter { $0.action == .load }.reduce(into: [:]) { $0[$1.model ?? "", default: 0] += 1 }
    }

    /// The plan as pretty-printed JSON with sorted keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The plan for people: a header with the budget, peak and time, then one line per step.
    public func rendered() -> String {
        var lines = ["Plan for \(file) (\(mode.rawValue)): budget \(ByteAmount(device.budgetBytes)), "
                     + "predicted peak \(ByteAmount(predictedPeakBytes)), estimated \(Self.duration(estimatedSeconds))"
                     + (device.timeFactors.isEmpty ? "" : " (calibrated by earlier renders on this device)")]
        let width = String(steps.count).count
        var index = 0
        while index < steps.count {
            let step = steps[index]
            let number = String(repeating: " ", count: width - String(index + 1).count) + String(index + 1)
            let run = chunkRun(from: index)
            if run.count > 2 {
                // A stream's chunks, one step each, in one line: 801 lines say nothing one does not.
                let last = run.upperBound - 1
                let peak = run.map { steps[$0].peakBytes }.max() ?? 0
                let seconds = run.reduce(0) { $0 + steps[$1].estimatedSeconds }
                var line = "  \(number)  run    \(step.kind?.rawValue ?? "?") \(step.stages[0]) … "
                    + "\(steps[last].stages[0]) (\(run.count) chunks, steps \(index + 1)–\(last + 1)) on "
                    + "\(step.model ?? "?") [\(step.tactic?.description ?? "")]  peak \(ByteAmount(peak))"
                if seconds >= 0.05 { line += "  ~\(Self.duration(seconds))" }
                lines.append(line)
                index = run.upperBound
                continue
            }
            index += 1
            var line = "  \(number)  "
            switch step.action {
            case .load:
                line += "load   \(step.model ?? "?")  \(ByteAmount(step.weightBytes))"
                if step.tactic?.streamedWeights == true { line += " (weights streamed block by block)" }
                if let adapters = step.adapters {
                    line += " + LoRA \(adapters.joined(separator: ", ")) merged at load (scratch "
                        + "\(ByteAmount(step.mergeScratchBytes ?? 0)))"
                }
            case .evict:
                line += "evict  \(step.model ?? "?")  frees \(ByteAmount(step.weightBytes))"
            case .run:
                let kind = step.kind?.rawValue ?? "?"
                let stages = step.stages.joined(separator: ", ")
                if let model = step.model, let tactic = step.tactic {
                    line += "run    \(kind) \(stages) on \(model) [\(tactic)]  peak \(ByteAmount(step.peakBytes))"
                } else {
                    line += "run    \(kind) \(stages) (host)"
                }
            }
            if step.estimatedSeconds >= 0.05 { line += "  ~\(Self.duration(step.estimatedSeconds))" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The steps from `start` that run one chunk each of the same stream (`shot/chunk-N`) on the same model with the
    /// same tactic, one after the other; empty when `start` runs no chunk.
    private func chunkRun(from start: Int) -> Range<Int> {
        func stream(_ step: PlanStep) -> String? {
            guard step.action == .run, step.stages.count == 1, let range = step.stages[0].range(of: "/chunk-")
            else { return nil }
            return String(step.stages[0][..<range.lowerBound])
        }
        guard let shot = stream(steps[start]) else { return start..<start }
        var end = start + 1
        while end < steps.count, stream(steps[end]) == shot, steps[end].model == steps[start].model,
              steps[end].tactic == steps[start].tactic {
            end += 1
        }
        return start..<end
    }

    /// `0.4 s`, `12 s`, `3 min 05 s`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1f s", seconds) }
        if seconds < 60 { return "\(Int(seconds.rounded())) s" }
        let whole = Int(seconds.rounded())
        return String(format: "%d min %02d s", whole / 60, whole % 60)
    }
}
