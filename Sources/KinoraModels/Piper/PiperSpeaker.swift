/// Which speaker of a multi-speaker Piper voice to use: by id, or by a name from the config's `speaker_id_map`.
public enum PiperSpeaker: Sendable, Equatable, CustomStringConvertible {
    case id(Int)
    case name(String)

    /// A number is an id, anything else a name.
    public init(argument: String) {
        if let id = Int(argument) {
            self = .id(id)
        } else {
            self = .name(argument)
        }
    }

    public var description: String {
        switch self {
        case .id(let id): return String(id)
        case .name(let name): return name
        }
    }

    /// The speaker id to pass to the voice: `nil` for a single-speaker voice (which takes no id, as in Piper), the
    /// given or named id otherwise, `default_speaker_id` when `speaker` is `nil`.
    public static func resolve(_ speaker: PiperSpeaker?, in config: PiperVoiceConfig) throws -> Int? {
        let id: Int
        switch speaker {
        case .none:
            id = config.defaultSpeakerID
        case .id(let given):
            id = given
        case .name(let name):
            guard let named = config.speakerIDMap[name] else {
                throw PiperError.unknownSpeaker(name: name, known: config.speakerIDMap.keys.sorted())
            }
            id = named
        }
        guard (0..<config.numSpeakers).contains(id) else {
            throw PiperError.speakerOutOfRange(id: id, speakers: config.numSpeakers)
        }
        return config.numSpeakers > 1 ? id : nil
    }
}
