/// Why a LoRA file cannot be applied. Each case names the file and the key at fault, and what to do about it.
public enum LoRAError: Error, Equatable, CustomStringConvertible {
    /// A key that is no LoRA layout Kinora reads.
    case unrecognizedKey(file: String, key: String)
    /// A key of an adapter kind Kinora does not merge (LoHa, LoKr, DoRA, Tucker-decomposed LoCon, full diffs).
    case unsupportedAdapter(file: String, key: String, kind: String)
    /// A down matrix without its up matrix, or the reverse.
    case unpaired(file: String, key: String, missing: String)
    /// Shapes that do not form a low-rank pair, or an alpha that is not a scalar.
    case badShape(file: String, key: String, reason: String)
    /// Two keys of the file address the same module.
    case duplicateTarget(file: String, first: String, second: String)
    /// A key whose module is not a weight of the model it is applied to.
    case noMatchingWeight(file: String, key: String, model: String)
    /// The pair's product does not have the shape of the weight it targets.
    case shapeMismatch(file: String, key: String, tensor: String, delta: [Int], weight: [Int])
    /// A file with no LoRA pairs at all.
    case empty(file: String)
    /// A `lora_adapter_metadata` entry (diffusers' saved PEFT configuration) that cannot be read or honoured.
    case badMetadata(file: String, reason: String)

    public var description: String {
        switch self {
        case .unrecognizedKey(let file, let key):
            return "\(file): key '\(key)' is in no LoRA layout Kinora reads (kohya lora_unet_/lora_te_, "
                + "diffusers/PEFT lora_A/lora_B, diffusers processor to_q_lora.down, ComfyUI diffusion_model.); "
                + "is this a LoRA file?"
        case .unsupportedAdapter(let file, let key, let kind):
            return "\(file): key '\(key)' belongs to a \(kind) adapter, which Kinora cannot merge; "
                + "convert it to a plain LoRA (down/up pairs) or leave it out"
        case .unpaired(let file, let key, let missing):
            return "\(file): key '\(key)' has no matching '\(missing)'; the file is incomplete"
        case .badShape(let file, let key, let reason):
            return "\(file): key '\(key)': \(reason)"
        case .duplicateTarget(let file, let first, let second):
            return "\(file): keys '\(first)' and '\(second)' adapt the same module"
        case .noMatchingWeight(let file, let key, let model):
            return "\(file): key '\(key)' adapts no weight of \(model); the LoRA was made for another model family "
                + "(SD 1.x, SD 2.x, SDXL, Wan) or another architecture"
        case .shapeMismatch(let file, let key, let tensor, let delta, let weight):
            return "\(file): key '\(key)' makes an update of shape \(delta), but weight '\(tensor)' has shape "
                + "\(weight); the LoRA was made for another model size"
        case .empty(let file):
            return "\(file): no LoRA down/up pairs found"
        case .badMetadata(let file, let reason):
            return "\(file): its PEFT configuration (safetensors metadata '\(LoRAAdapterMetadata.key)'): \(reason); "
                + "without it the update's scale is unknown, so fix or remove the entry"
        }
    }
}
