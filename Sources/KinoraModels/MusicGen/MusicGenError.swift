/// What can go wrong loading or running MusicGen; each message names the file or the setting.
public enum MusicGenError: Error, Equatable, CustomStringConvertible {
    /// The folder lacks a file MusicGen needs.
    case missingFile(folder: String, file: String)
    /// `config.json` is malformed or describes something MusicGen does not support.
    case invalidConfiguration(file: String, reason: String)
    /// A tensor is missing or has another shape than the configuration implies.
    case weightsMismatch(file: String, tensor: String, reason: String)
    /// A generation setting out of range.
    case invalidSetting(String)

    public var description: String {
        switch self {
        case .missingFile(let folder, let file): return "\(folder): no \(file); a MusicGen folder (as Hugging Face's "
            + "facebook/musicgen-small) has config.json, model.safetensors and the T5 tokenizer"
        case .invalidConfiguration(let file, let reason): return "\(file): \(reason)"
        case .weightsMismatch(let file, let tensor, let reason): return "\(file): \(tensor): \(reason)"
        case .invalidSetting(let reason): return reason
        }
    }
}
