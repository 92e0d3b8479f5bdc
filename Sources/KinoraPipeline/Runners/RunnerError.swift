/// Why the chain runner could not run a stage.
public enum RunnerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stage's model (by name or key) was never located (a graph built without `RenderPreparation`).
    case unknownModel(stage: String, key: String)
    /// A stage ran without the model it needs being loaded.
    case modelNotLoaded(stage: String, model: String)
    /// A stage's parameters lack a value the runner needs.
    case missingParameter(stage: String, name: String)
    /// A stage's input folder lacks the file the input stage writes.
    case missingInput(stage: String, file: String)
    /// A file in a stage's input folder cannot be used (unreadable, or not what the input stage writes).
    case invalidInput(stage: String, file: String, reason: String)
    /// A stage belongs to no workflow item the runner knows (its owner is not `shots[i]`, `voices[i]`, `music[i]`).
    case unknownOwner(stage: String, owner: String)
    /// The mix has a different number of audio inputs than the workflow has voice lines and music cues.
    case mixInputs(expected: Int, got: Int)
    /// The runner has no implementation for the stage's kind on this model family.
    case unsupported(stage: String, reason: String)
    /// A stage produced NaN or infinite values (`count` of `total`) in its `result`; `model` made them (nil for a
    /// host stage), from the weights at `weights` when known. Such a result is never stored.
    case nonFinite(stage: String, result: String, count: Int, total: Int, model: String?, weights: String?)

    public var description: String {
        switch self {
        case .unknownModel(let stage, let key):
            return "stage '\(stage)': its model (\(key)) was not located"
        case .modelNotLoaded(let stage, let model):
            return "stage '\(stage)': model \(model) is not loaded"
        case .missingParameter(let stage, let name):
            return "stage '\(stage)': parameter '\(name)' is missing"
        case .missingInput(let stage, let file):
            return "stage '\(stage)': input \(file) is missing"
        case .invalidInput(let stage, let file, let reason):
            return "stage '\(stage)': input \(file) cannot be used: \(reason)"
        case .unknownOwner(let stage, let owner):
            return "stage '\(stage)': '\(owner)' is not an item of the workflow"
        case .mixInputs(let expected, let got):
            return "the mix expects \(expected) audio inputs (voice lines and music cues), got \(got)"
        case .unsupported(let stage, let reason):
            return "stage '\(stage)': \(reason)"
        case .nonFinite(let stage, let result, let count, let total, let model, let weights):
            let source = model.map { model in
                "model '\(model)'" + (weights.map { " (weights \($0))" } ?? "") + " produced them; check its weights "
                    + "for NaN or infinite values (a damaged or badly converted file) and its settings (cfg)"
            } ?? "they come from its inputs"
            return "stage '\(stage)': \(count) of \(total) values of its \(result) are NaN or infinite; \(source). "
                + "The result was not cached."
        }
    }
}
