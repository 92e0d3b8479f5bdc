/// Why an EnCodec decoder could not be built or run; each case names the file, tensor or input at fault.
public enum EncodecError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(file: String, reason: String)
    /// A tensor missing, of the wrong shape, or one the configuration has no place for.
    case weightsMismatch(file: String, tensor: String, reason: String)
    /// Codes the codec cannot decode: too many codebooks, rows of different lengths, or a code outside a codebook.
    case invalidCodes(reason: String)
    /// Embeddings handed to the decoder's graph of a shape it cannot take.
    case invalidInput(shape: [Int], reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let reason):
            return "\(file): not a usable EnCodec (EncodecConfig) configuration: \(reason)"
        case .weightsMismatch(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case .invalidCodes(let reason):
            return "EnCodec decode: \(reason)"
        case .invalidInput(let shape, let reason):
            return "EnCodec decode: input of shape \(shape): \(reason)"
        }
    }
}
