import Foundation

/// What a render reports as it goes, for the terminal bars, `--progress json` and the render report.
public enum ProgressEvent: Sendable, Hashable {
    /// The render begins: how many stages and steps of progress in all, and the plan's estimate.
    case renderStarted(stages: Int, totalSteps: Int, estimatedSeconds: Double, budgetBytes: UInt64)
    case modelLoaded(model: String, bytes: UInt64, streamed: Bool)
    case modelEvicted(model: String, bytes: UInt64)
    /// A stage begins: its `steps` units of progress are `unit`s (frames for the stages that make a clip's frames).
    case stageStarted(stage: String, kind: StageKind, steps: Int, unit: StepUnit)
    /// `step` of the stage's `steps` are done; `rate` (units a second since the stage began, seconds left) once one is.
    case stageStep(stage: String, step: Int, steps: Int, rate: StepRate?)
    case stageFinished(stage: String, seconds: Double, measuredPeakBytes: UInt64?)
    /// The stage's result came from the cache; `steps` of progress are done at once.
    case cacheHit(stage: String, key: String, steps: Int)
    /// The stage's cache entry was damaged (`reason` names the file and what is wrong) and has been removed; the stage
    /// is computed again. When the stage had already counted as done (its entry was read and a later stage could not
    /// use it), it no longer does until it finishes again.
    case cacheDiscarded(stage: String, reason: String)
    /// Device memory in use now.
    case memory(usedBytes: UInt64, budgetBytes: UInt64)
    case renderFinished(seconds: Double)

    /// The event's name in JSON (`stage_step`).
    public var name: String {
        switch self {
        case .renderStarted: return "render_started"
        case .modelLoaded: return "model_loaded"
        case .modelEvicted: return "model_evicted"
        case .stageStarted: return "stage_started"
        case .stageStep: return "stage_step"
        case .stageFinished: return "stage_finished"
        case .cacheHit: return "cache_hit"
        case .cacheDiscarded: return "cache_discarded"
        case .memory: return "memory"
        case .renderFinished: return "render_finished"
        }
    }
}

extension ProgressEvent: Encodable {
    private enum Key: String, CodingKey {
        case event, stages, totalSteps = "total_steps", estimatedSeconds = "estimated_seconds"
        case budgetBytes = "budget_bytes", model, bytes, streamed, stage, kind, steps, step, seconds
        case measuredPeakBytes = "measured_peak_bytes", key, usedBytes = "used_bytes", reason, unit
        case perSecond = "per_second", etaSeconds = "eta_seconds"
    }

    /// A flat object: `{"event": "stage_step", "stage": "shot-1/decode", "step": 30, "steps": 81, "unit": "frame",
    /// "per_second": 12.5, "eta_seconds": 4.08}` (the rate's fields once a unit is done).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(name, forKey: .event)
        switch self {
        case .renderStarted(let stages, let totalSteps, let estimatedSeconds, let budgetBytes):
            try container.encode(stages, forKey: .stages)
            try container.encode(totalSteps, forKey: .totalSteps)
            try container.encode(estimatedSeconds, forKey: .estimatedSeconds)
            try container.encode(budgetBytes, forKey: .budgetBytes)
        case .modelLoaded(let model, let bytes, let streamed):
            try container.encode(model, forKey: .model)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(streamed, forKey: .streamed)
        case .modelEvicted(let model, let bytes):
            try container.encode(model, forKey: .model)
            try container.encode(bytes, forKey: .bytes)
        case .stageStarted(let stage, let kind, let steps, let unit):
            try container.encode(stage, forKey: .stage)
            try container.encode(kind, forKey: .kind)
            try container.encode(steps, forKey: .steps)
            try container.encode(unit, forKey: .unit)
        case .stageStep(let stage, let step, let steps, let rate):
            try container.encode(stage, forKey: .stage)
            try container.encode(step, forKey: .step)
            try container.encode(steps, forKey: .steps)
            if let rate {
                try container.encode(rate.unit, forKey: .unit)
                try container.encode((rate.perSecond * 1000).rounded() / 1000, forKey: .perSecond)
                try container.encode((rate.etaSeconds * 1000).rounded() / 1000, forKey: .etaSeconds)
            }
        case .stageFinished(let stage, let seconds, let measuredPeakBytes):
            try container.encode(stage, forKey: .stage)
            try container.encode(seconds, forKey: .seconds)
            try container.encodeIfPresent(measuredPeakBytes, forKey: .measuredPeakBytes)
        case .cacheHit(let stage, let key, let steps):
            try container.encode(stage, forKey: .stage)
            try container.encode(key, forKey: .key)
            try container.encode(steps, forKey: .steps)
        case .cacheDiscarded(let stage, let reason):
            try container.encode(stage, forKey: .stage)
            try container.encode(reason, forKey: .reason)
        case .memory(let usedBytes, let budgetBytes):
            try container.encode(usedBytes, forKey: .usedBytes)
            try container.encode(budgetBytes, forKey: .budgetBytes)
        case .renderFinished(let seconds):
            try container.encode(seconds, forKey: .seconds)
        }
    }
}
