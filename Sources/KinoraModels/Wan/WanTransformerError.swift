/// Why a Wan transformer could not be built or run; each case names the file, tensor or input at fault.
public enum WanTransformerError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(file: String, reason: String)
    case weightsMismatch(file: String, tensor: String, reason: String)
    /// The latent `hidden_states` do not fit the model.
    case invalidLatent(shape: [Int], reason: String)
    /// The text hidden states do not fit the model or the latent.
    case invalidText(shape: [Int], reason: String)
    case invalidTimesteps(reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let reason):
            return "\(file): not a usable Wan transformer config (\(reason))"
        case .weightsMismatch(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case .invalidLatent(let shape, let reason):
            return "Wan transformer: latent of shape \(shape): \(reason)"
        case .invalidText(let shape, let reason):
            return "Wan transformer: text hidden states of shape \(shape): \(reason)"
        case .invalidTimesteps(let reason):
            return "Wan transformer: timesteps: \(reason)"
        }
    }
}
