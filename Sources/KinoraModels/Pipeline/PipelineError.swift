import KinoraGPU

/// Why a generation could not start.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    case notADiffusersFolder(String)
    case missingTokenizer(checkpoint: String, looked: String)
    case missingProjection
    case invalidSize(width: Int, height: Int, multiple: Int)
    /// A guidance scale outside `GenerationSettings.guidanceRange` (NaN and infinities included).
    case invalidGuidance(Float)
    /// `count` of the `total` values a generation with the model at `model` produced are NaN or infinite.
    case nonFinite(count: Int, total: Int, model: String)
    case invalidSteps(Int)
    /// The generation's peak, at `stage`, is `needed` bytes, more than `budget`.
    case overBudget(needed: UInt64, budget: UInt64, stage: String)
    case initImageSize(values: Int, width: Int, height: Int)
    case invalidStrength(Double)
    /// Text conditioning handed to `denoise` that this checkpoint cannot take (shape, width, missing half).
    case invalidConditioning(String)

    public var description: String {
        switch self {
        case .notADiffusersFolder(let path):
            return "\(path) is not a diffusers model folder (no model_index.json)"
        case .missingTokenizer(let checkpoint, let looked):
            return "\(checkpoint) is a single file without a tokenizer, and there is none at \(looked); pass "
                + "--tokenizer (a tokenizer folder or CLIP's bpe_simple_vocab_16e6.txt) or run scripts/setup.sh"
        case .missingProjection:
            return "the second text encoder has no text_projection (not an SDXL CLIPTextModelWithProjection)"
        case .invalidSize(let width, let height, let multiple):
            return "image size \(width)×\(height) must be multiples of \(multiple) from \(multiple) to "
                + "\(GenerationSettings.largestSide)"
        case .invalidGuidance(let scale):
            let range = GenerationSettings.guidanceRange
            return "the guidance scale (cfg) must be between \(range.lowerBound) and \(range.upperBound), got \(scale)"
        case .nonFinite(let count, let total, let model):
            return "\(count) of the \(total) values of the picture are NaN or infinite: check \(model) for NaN or "
                + "infinite weights (a damaged or badly converted file) and the guidance scale"
        case .invalidSteps(let steps):
            return "steps must be at least 1, got \(steps)"
        case .initImageSize(let values, let width, let height):
            return "the initial image has \(values / 3) pixels but the generation is \(width)×\(height)"
        case .invalidStrength(let strength):
            return "strength must be between 0 and 1, got \(strength)"
        case .invalidConditioning(let reason):
            return "the text conditioning does not fit this checkpoint: \(reason)"
        case .overBudget(let needed, let budget, let stage):
            return "this generation needs about \(ByteCount(needed)) of device memory (at its \(stage) stage) but "
                + "the budget is \(ByteCount(budget)); lower the size, or raise --vram"
        }
    }
}
