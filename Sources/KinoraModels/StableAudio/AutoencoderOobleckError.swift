/// Why an Oobleck audio VAE could not be built or run; each case names the file, tensor or input at fault.
public enum AutoencoderOobleckError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(file: String, reason: String)
    /// A tensor missing, of the wrong shape, or one the configuration has no place for.
    case weightsMismatch(file: String, tensor: String, reason: String)
    /// Audio or latents handed to the VAE of a shape it cannot take.
    case invalidInput(operation: String, shape: [Int], reason: String)
    /// Even a one-frame chunk, with its context, has a buffer over the device's largest.
    case chunkTooLarge(largestBufferBytes: UInt64, maxBufferBytes: UInt64, context: Int)

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let reason):
            return "\(file): not a usable Oobleck VAE (AutoencoderOobleck) configuration: \(reason)"
        case .weightsMismatch(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case .invalidInput(let operation, let shape, let reason):
            return "Oobleck VAE \(operation): input of shape \(shape): \(reason)"
        case .chunkTooLarge(let largest, let limit, let context):
            return "Oobleck VAE: one latent frame with \(context) frames of context each side needs a buffer of "
                + "\(largest) bytes, over the device's largest buffer (\(limit) bytes)"
        }
    }
}
