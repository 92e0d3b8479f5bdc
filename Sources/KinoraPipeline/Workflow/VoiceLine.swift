import KinoraMedia

/// A line of speech: the text, the voice model that speaks it (and which of its speakers), and when it starts on
/// the timeline.
public struct VoiceLine: Sendable, Hashable {
    /// A speaker of a multi-speaker voice, by index or by the name in the voice's speaker map.
    public enum Speaker: Sendable, Hashable {
        case index(Int)
        case name(String)
    }

    public var id: String
    public var text: String
    /// The name of a voice model in the workflow's `models`.
    public var voice: String
    public var speaker: Speaker?
    /// Seconds from the start of the cut.
    public var start: Double
    /// The time by which the line must have finished, when given (checked against the spoken length at render).
    public var end: Double?
    /// Gain applied to the line in the mix, in dB.
    public var gain: Double
    /// Speaking rate: 1 is the voice's own, 1.2 is 20 % faster.
    public var speed: Double
    public var location: SourceLocation
    public var voiceLocation: SourceLocation

    public init(id: String, text: String, voice: String, speaker: Speaker? = nil, start: Double, end: Double? = nil,
                gain: Double = 0, speed: Double = 1, location: SourceLocation, voiceLocation: SourceLocation? = nil) {
        self.id = id
        self.text = text
        self.voice = voice
        self.speaker = speaker
        self.start = start
        self.end = end
        self.gain = gain
        self.speed = speed
        self.location = location
        self.voiceLocation = voiceLocation ?? location
    }

    /// A rough spoken length (150 words a minute, at least one second), used to warn about lines that probably
    /// overlap before anything has been spoken.
    public var estimatedDuration: Double {
        let words = text.split(whereSeparator: { $0.isWhitespace }).count
        return max(1, Double(words) / 2.5 / speed)
    }

    static let keys = ["id", "text", "voice", "speaker", "start", "end", "gain", "speed"]

    /// Reads one entry of `voices`; `index` (from 0) names it `line-N` when it has no `id`.
    init?(reading field: YAMLField, index: Int) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let id = mapping["id"].map { $0.string() } ?? "line-\(index + 1)"
        let text = mapping.required("text")?.string()
        let voiceField = mapping.required("voice")
        let voice = voiceField?.string()
        var speaker: Speaker??
        if let speakerField = mapping["speaker"], let raw = speakerField.string() {
            if let number = Int(raw) {
                speaker = number >= 0 ? .index(number) : .none
                if number < 0 { speakerField.fail("a speaker index cannot be negative, got \(number)") }
            } else {
                speaker = .name(raw)
            }
        } else if mapping["speaker"] != nil {
            speaker = .some(nil)
        }
        let start = mapping.required("start")?.seconds(in: ValueBounds.seconds)
        let end = mapping["end"].map { $0.seconds(in: ValueBounds.seconds) }
        let gain = mapping["gain"].map { $0.number(in: ValueBounds.gainDB, unit: "dB") } ?? 0
        let speed = mapping["speed"].map { $0.number(in: 0.5...2) } ?? 1
        if let start, let end = end ?? nil, end <= start, let endField = mapping["end"] {
            endField.fail("must be after start (\(YAMLField.format(start)) s), got \(YAMLField.format(end)) s")
            return nil
        }
        guard let id, let text, let voice, speaker != .some(nil), let start, end != .some(nil), let gain,
              let speed else { return nil }
        self.init(id: id, text: text, voice: voice, speaker: speaker ?? nil, start: start, end: end ?? nil,
                  gain: gain, speed: speed, location: field.location, voiceLocation: voiceField?.location)
    }
}
