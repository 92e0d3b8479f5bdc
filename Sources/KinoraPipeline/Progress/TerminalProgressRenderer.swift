import Foundation

/// Progress on a terminal: an overall bar (stages done, ETA, device memory) and a bar for the running stage (steps,
/// it/s, or fps for a stage that makes frames, ETA), redrawn in place. Without a terminal (`interactive: false`) it
/// prints one line per finished stage.
/// A batch starts all its stages before any finishes, so each running stage's steps are kept by its id. A discarded
/// cache entry is told in one line above the bars.
public final class TerminalProgressRenderer: ProgressSink {
    /// A stage that has started and not finished.
    private struct RunningStage {
        var step: Int
        var steps: Int
        var unit: StepUnit
        var start: Double
    }

    private let write: (String) -> Void
    private let clock: () -> Double
    private let interactive: Bool
    private let barWidth: Int

    private var renderStart: Double?
    private var estimatedSeconds = 0.0
    private var totalStages = 0
    private var totalSteps = 0
    /// Stages done (run or from the cache), with their steps.
    private var finished: [String: Int] = [:]
    private var memory: (used: UInt64, budget: UInt64)?
    /// Running stages by id, and their ids in start order.
    private var running: [String: RunningStage] = [:]
    private var runningOrder: [String] = []
    /// The running stage the second bar shows: the one that last started or stepped.
    private var shown: String?
    private var drawnLines = 0

    /// `write` receives text for the terminal (standard error by default); `clock` gives seconds (monotonic).
    public init(write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
                clock: @escaping () -> Double = { ProcessInfo.processInfo.systemUptime },
                interactive: Bool = true, barWidth: Int = 24) {
        self.write = write
        self.clock = clock
        self.interactive = interactive
        self.barWidth = barWidth
    }

    public func receive(_ event: ProgressEvent) {
        let now = clock()
        switch event {
        case .renderStarted(let stages, let steps, let estimate, let budget):
            renderStart = now
            totalStages = stages
            totalSteps = steps
            estimatedSeconds = estimate
            memory = (0, budget)
        case .stageStarted(let stage, _, let steps, let unit):
            if running[stage] == nil { runningOrder.append(stage) }
            running[stage] = RunningStage(step: 0, steps: steps, unit: unit, start: now)
            shown = stage
        case .stageStep(let stage, let step, let steps, _):
            if running[stage] != nil {
                running[stage]?.step = step
                running[stage]?.steps = steps
                shown = stage
            }
        case .stageFinished(let stage, let seconds, _):
            finished[stage] = running.removeValue(forKey: stage)?.steps ?? 0
            runningOrder.removeAll { $0 == stage }
            if shown == stage { shown = runningOrder.first }
            if !interactive { write("done  \(stage)  \(Plan.duration(seconds))\n") }
        case .cacheHit(let stage, _, let steps):
            finished[stage] = steps
            if !interactive { write("cached  \(stage)\n") }
        case .cacheDiscarded(let stage, let reason):
            finished[stage] = nil
            let reason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
            note("discarded the damaged cache entry of \(stage) (\(reason)); computing it again")
        case .memory(let used, let budget):
            memory = (used, budget)
        case .renderFinished(let seconds):
            if interactive { redraw() }
            write("rendered in \(Plan.duration(seconds))\n")
            drawnLines = 0
            return
        case .modelLoaded, .modelEvicted:
            break
        }
        if interactive { redraw() }
    }

    /// The lines the renderer shows now: the overall bar, then the running stage's bar if any.
    public func lines() -> [String] {
        let now = clock()
        let elapsed = renderStart.map { now - $0 } ?? 0
        let stepsDone = finished.values.reduce(0, +) + running.values.reduce(0) { $0 + $1.step }
        let fraction = totalSteps > 0 ? min(1, Double(stepsDone) / Double(totalSteps)) : 0
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : max(0, estimatedSeconds - elapsed)
        var overall = "overall  \(bar(fraction))  \(finished.count)/\(totalStages) stages  ETA \(Plan.duration(eta))"
        if let memory, memory.budget > 0 {
            overall += "  mem \(ByteAmount(memory.used)) / \(ByteAmount(memory.budget))"
        }
        var result = [overall]
        if let id = shown, let stage = running[id] {
            let seconds = now - stage.start
            let fraction = stage.steps > 0 ? Double(stage.step) / Double(stage.steps) : 0
            var line = "\(id)  \(bar(fraction))  \(stage.step)/\(stage.steps)"
            if let rate = StepRate(unit: stage.unit, done: stage.step, total: stage.steps, seconds: seconds) {
                line += String(format: "  %.2f ", rate.perSecond) + stage.unit.rateLabel
                    + "  ETA \(Plan.duration(rate.etaSeconds))"
            }
            result.append(line)
        }
        return result
    }

    private func bar(_ fraction: Double) -> String {
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "] "
            + String(format: "%3d%%", Int((fraction * 100).rounded(.down)))
    }

    /// Writes `line` on its own line; on a terminal it replaces the bars, which the next redraw puts back below it.
    private func note(_ line: String) {
        if interactive, drawnLines > 0 {
            write("\u{1B}[\(drawnLines)F\u{1B}[J")
            drawnLines = 0
        }
        write(line + "\n")
    }

    /// Moves the cursor up over the previous drawing, clears those lines and draws the current ones.
    private func redraw() {
        var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)F" : ""
        let current = lines()
        for line in current { text += "\u{1B}[2K" + line + "\n" }
        for _ in current.count..<max(current.count, drawnLines) { text += "\u{1B}[2K\n" }
        drawnLines = max(current.count, drawnLines)
        write(text)
    }
}
