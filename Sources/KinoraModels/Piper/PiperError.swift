/// Why a Piper voice could not be located or configured, or why text could not become phoneme ids. Every case names
/// the file and field, or the text, at fault, so the message tells a user what to fix.
public enum PiperError: Error, Equatable, CustomStringConvertible {
    case voiceNotInstalled(path: String, environmentVariable: String)
    case missingModel(path: String)
    case notAnONNXVoice(path: String)
    case missingConfig(model: String, config: String)
    case unreadableConfig(file: String, reason: String)
    case invalidConfig(file: String, field: String, reason: String)
    case unsupportedPhonemeType(file: String, phonemeType: String)
    case espeakUnavailable(reason: String)
    case unknownEspeakVoice(voice: String)
    case emptyText
    case noPhonemes(text: String)
    case unknownSpeaker(name: String, known: [String])
    case speakerOutOfRange(id: Int, speakers: Int)
    case invalidSentenceSilence(seconds: Double)

    public var description: String {
        switch self {
        case let .voiceNotInstalled(path, environmentVariable):
            return "the default Piper voice is not installed at \(path): run bash scripts/setup.sh, or set "
                + "\(environmentVariable) to a voice's .onnx file"
        case let .missingModel(path):
            return "\(path): no such Piper voice model"
        case let .notAnONNXVoice(path):
            return "\(path): not a Piper voice; give the .onnx file of a Piper export (its .onnx.json lies next to it)"
        case let .missingConfig(model, config):
            return "\(model): the voice's config \(config) is missing; a Piper export ships both files side by side"
        case let .unreadableConfig(file, reason):
            return "\(file): cannot read the Piper voice config (\(reason))"
        case let .invalidConfig(file, field, reason):
            return "\(file): '\(field)': \(reason)"
        case let .unsupportedPhonemeType(file, phonemeType):
            return "\(file): 'phoneme_type' is '\(phonemeType)'; Kinora supports the 'espeak' and 'text' voices"
        case let .espeakUnavailable(reason):
            return "espeak-ng could not be initialised (\(reason)); install libespeak-ng1 and espeak-ng-data"
        case let .unknownEspeakVoice(voice):
            return "espeak-ng has no voice '\(voice)' (the voice config's 'espeak.voice')"
        case .emptyText:
            return "no text to speak: the text is empty or only white space"
        case let .noPhonemes(text):
            return "the text \"\(text.prefix(60))\" gives no phonemes this voice knows"
        case let .unknownSpeaker(name, known):
            let list = known.isEmpty ? "it has a single speaker" : "known: " + known.joined(separator: ", ")
            return "the voice has no speaker named '\(name)' (\(list))"
        case let .speakerOutOfRange(id, speakers):
            return "speaker \(id) is outside 0..<\(speakers), the voice's num_speakers"
        case let .invalidSentenceSilence(seconds):
            return "sentence silence \(seconds) s must be a finite number of seconds, 0 or more"
        }
    }
}
