/// Why no plan fits.
public enum PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Even the smallest tactic for `stage` needs more than the budget.
    case doesNotFit(stage: String, model: String, neededBytes: UInt64, budgetBytes: UInt64, tactic: String)
    /// A stage's model is not in the graph.
    case unboundModel(stage: String, key: String)
    /// Stages wait on each other (a malformed graph).
    case cycle(stages: [String])

    public var description: String {
        switch self {
        case .doesNotFit(let stage, let model, let needed, let budget, let tactic):
            return "stage '\(stage)' (\(model)) needs at least \(ByteAmount(needed)) with its smallest tactic "
                + "(\(tactic)), more than the budget of \(ByteAmount(budget)); use a smaller size or a smaller model, "
                + "or give more memory with --vram"
        case .unboundModel(let stage, let key):
            return "stage '\(stage)' runs a model the graph does not bind (\(key))"
        case .cycle(let stages):
            return "stages wait on each other: \(stages.joined(separator: ", "))"
        }
    }
}
