/// Why a Piper VITS voice could not be opened or could not speak an input. Cases about the voice file name it;
/// cases about the input name the offending value.
public enum VITSError: Error, Equatable, CustomStringConvertible {
    /// The file is a valid ONNX model but not a Piper VITS export (a tensor or node Piper's export always has is
    /// missing, or has the wrong shape).
    case notAPiperVoice(file: String, reason: String)
    /// A hyper-parameter could not be worked out from the weights' shapes and the graph's attributes.
    case underivableHyperparameter(file: String, name: String, reason: String)
    /// A value from the voice's `.onnx.json` disagrees with the weights.
    case configurationMismatch(file: String, field: String, configured: Int, weights: String)
    case emptyInput
    case phonemeIDOutOfRange(id: Int, position: Int, vocabularySize: Int)
    case speakerOutOfRange(speaker: Int, speakers: Int)
    case invalidScales(PiperScales)
    /// The duration predictor gave a non-finite or absurdly long duration (the model diverged on this input).
    case durationOutOfRange(position: Int, logDuration: Float)

    public var description: String {
        switch self {
        case .notAPiperVoice(let file, let reason):
            return "\(file): not a Piper VITS voice (\(reason))"
        case .underivableHyperparameter(let file, let name, let reason):
            return "\(file): cannot work out the VITS hyper-parameter \(name) from the weights (\(reason))"
        case .configurationMismatch(let file, let field, let configured, let weights):
            return "\(file): the voice config gives \(field) = \(configured), but the weights have \(weights); "
                + "the .onnx.json belongs to another voice"
        case .emptyInput:
            return "no phoneme ids to speak"
        case .phonemeIDOutOfRange(let id, let position, let vocabularySize):
            return "phoneme id \(id) at position \(position) is outside the voice's \(vocabularySize) symbols"
        case .speakerOutOfRange(let speaker, let speakers):
            return "speaker \(speaker) is outside the voice's \(speakers) speaker(s) (0...\(speakers - 1))"
        case .invalidScales(let scales):
            return "scales must be finite, length_scale positive and the noise scales non-negative; got "
                + "noise_scale \(scales.noiseScale), length_scale \(scales.lengthScale), noise_w \(scales.noiseW)"
        case .durationOutOfRange(let position, let logDuration):
            return "the duration predicted for phoneme id \(position) (log-duration \(logDuration)) is out of range "
                + "(at most \(LengthRegulator.maximumDuration) frames)"
        }
    }
}
