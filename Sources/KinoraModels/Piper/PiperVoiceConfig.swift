import Foundation

/// How a Piper voice turns text into phonemes (the config's `phoneme_type`). Kinora runs the two kinds that need no
/// extra language model: espeak-ng's IPA, and the text's own code points.
public enum PiperPhonemeType: String, Sendable, Equatable {
    case espeak
    case text
}

/// The `.onnx.json` that Piper writes next to each voice export: sample rate, espeak-ng voice, the phoneme-to-id
/// map, speakers and the inference defaults. Parsed as piper 1.8.0's `PiperConfig.from_dict` does, with the same
/// defaults for the optional keys; every failure names the file and the field.
public struct PiperVoiceConfig: Sendable, Equatable {
    /// The phoneme that pads between phonemes (`_`), and the sentence's first (`^`) and last (`$`) phonemes.
    public static let pad = "_"
    public static let bos = "^"
    public static let eos = "$"

    /// Piper's defaults for the optional `inference` and `hop_length` keys (`piper/config.py`).
    public static let defaultNoiseScale: Float = 0.667
    public static let defaultLengthScale: Float = 1.0
    public static let defaultNoiseW: Float = 0.8
    public static let defaultHopLength = 256

    public var sampleRate: Int
    /// The espeak-ng voice name, e.g. `en-us`.
    public var espeakVoice: String
    public var phonemeType: PiperPhonemeType
    /// Phoneme (one Unicode code point, or a vowel cluster) to its ids.
    public var phonemeIDMap: [String: [Int]]
    public var numSymbols: Int
    public var numSpeakers: Int
    public var speakerIDMap: [String: Int]
    public var defaultSpeakerID: Int
    public var noiseScale: Float
    public var lengthScale: Float
    public var noiseW: Float
    public var hopLength: Int
    /// Runs of phonemes that are merged into one (e.g. `a`, `ɪ` → `aɪ`) before mapping to ids.
    public var vowelClusters: [[String]]
    public var piperVersion: String?

    public init(sampleRate: Int, espeakVoice: String, phonemeType: PiperPhonemeType = .espeak,
                phonemeIDMap: [String: [Int]], numSymbols: Int, numSpeakers: Int = 1,
                speakerIDMap: [String: Int] = [:], defaultSpeakerID: Int = 0,
                noiseScale: Float = defaultNoiseScale, lengthScale: Float = defaultLengthScale,
                noiseW: Float = defaultNoiseW, hopLength: Int = defaultHopLength, vowelClusters: [[String]] = [],
                piperVersion: String? = nil) {
        self.sampleRate = sampleRate
        self.espeakVoice = espeakVoice
        self.phonemeType = phonemeType
        self.phonemeIDMap = phonemeIDMap
        self.numSymbols = numSymbols
        self.numSpeakers = numSpeakers
        self.speakerIDMap = speakerIDMap
        self.defaultSpeakerID = defaultSpeakerID
        self.noiseScale = noiseScale
        self.lengthScale = lengthScale
        self.noiseW = noiseW
        self.hopLength = hopLength
        self.vowelClusters = vowelClusters
        self.piperVersion = piperVersion
    }

    /// Reads and checks the config at `url`.
    public static func load(from url: URL) throws -> PiperVoiceConfig {
        let data: Data
        do {
            data = try RegularFile.contents(of: url)
        } catch {
            throw PiperError.unreadableConfig(file: url.path, reason: error.localizedDescription)
        }
        return try parse(data, file: url.path)
    }

    /// Parses and checks a config's JSON bytes; `file` names the source in errors.
    public static func parse(_ data: Data, file: String) throws -> PiperVoiceConfig {
        let root: PiperJSON
        do {
            root = try JSONDecoder().decode(PiperJSON.self, from: data)
        } catch {
            throw PiperError.unreadableConfig(file: file, reason: "not JSON (\(error))")
        }
        guard case .object(let object) = root else {
            throw PiperError.unreadableConfig(file: file, reason: "the top level is not a JSON object")
        }
        let fields = ConfigFields(file: file)
        let typeName = try fields.string(object["phoneme_type"], "phoneme_type",
                                         default: PiperPhonemeType.espeak.rawValue)
        guard let phonemeType = PiperPhonemeType(rawValue: typeName) else {
            throw PiperError.unsupportedPhonemeType(file: file, phonemeType: typeName)
        }
        let audio = try fields.object(object["audio"], "audio")
        let espeak = try fields.object(object["espeak"], "espeak")
        let inference = try fields.object(object["inference"], "inference", required: false)
        let config = PiperVoiceConfig(
            sampleRate: try fields.int(audio["sample_rate"], "audio.sample_rate"),
            espeakVoice: try fields.string(espeak["voice"], "espeak.voice"),
            phonemeType: phonemeType,
            phonemeIDMap: try fields.idMap(object["phoneme_id_map"], "phoneme_id_map"),
            numSymbols: try fields.int(object["num_symbols"], "num_symbols"),
            numSpeakers: try fields.int(object["num_speakers"], "num_speakers"),
            speakerIDMap: try fields.speakerMap(object["speaker_id_map"], "speaker_id_map"),
            defaultSpeakerID: try fields.int(object["default_speaker_id"], "default_speaker_id", default: 0),
            noiseScale: try fields.float(inference["noise_scale"], "inference.noise_scale",
                                         default: defaultNoiseScale),
            lengthScale: try fields.float(inference["length_scale"], "inference.length_scale",
                                          default: defaultLengthScale),
            noiseW: try fields.float(inference["noise_w"], "inference.noise_w", default: defaultNoiseW),
            hopLength: try fields.int(object["hop_length"], "hop_length", default: defaultHopLength),
            vowelClusters: try fields.clusters(object["vowel_clusters"], "vowel_clusters"),
            piperVersion: try fields.optionalString(object["piper_version"], "piper_version"))
        try config.validate(file: file)
        return config
    }

    /// The ranges of the numbers that size the audio a voice makes: its sample rate (as KinoraMedia's mixer takes),
    /// the samples per spectrogram frame, and the inference scales (which stretch durations and noise).
    static let ranges = (sampleRate: 8_000...384_000, hopLength: 1...65_536, lengthScale: Float(0.05)...20,
                         noise: Float(0)...10)

    /// Throws when a value cannot describe a usable voice: sizes or scales outside their ranges, ids outside
    /// `num_symbols`, a speaker outside `num_speakers`, or a missing pad / start / end phoneme.
    public func validate(file: String) throws {
        func fail(_ field: String, _ reason: String) -> PiperError {
            .invalidConfig(file: file, field: field, reason: reason)
        }
        for (field, value) in [("num_symbols", numSymbols), ("num_speakers", numSpeakers)] where value <= 0 {
            throw fail(field, "must be positive, got \(value)")
        }
        for (field, value, range) in [("audio.sample_rate", sampleRate, Self.ranges.sampleRate),
                                      ("hop_length", hopLength, Self.ranges.hopLength)] where !range.contains(value) {
            throw fail(field, "must be within \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        for (field, value, range) in [("inference.length_scale", lengthScale, Self.ranges.lengthScale),
                                      ("inference.noise_scale", noiseScale, Self.ranges.noise),
                                      ("inference.noise_w", noiseW, Self.ranges.noise)] where !range.contains(value) {
            throw fail(field, "must be within \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        for marker in [Self.pad, Self.bos, Self.eos] where (phonemeIDMap[marker] ?? []).isEmpty {
            throw fail("phoneme_id_map", "has no ids for the phoneme '\(marker)' that every sentence uses")
        }
        for (phoneme, ids) in phonemeIDMap.sorted(by: { $0.key < $1.key }) {
            if let bad = ids.first(where: { !(0..<numSymbols).contains($0) }) {
                throw fail("phoneme_id_map", "phoneme '\(phoneme)' has id \(bad), outside 0..<\(numSymbols) "
                    + "(num_symbols)")
            }
        }
        for (name, id) in speakerIDMap.sorted(by: { $0.key < $1.key }) where !(0..<numSpeakers).contains(id) {
            throw fail("speaker_id_map", "speaker '\(name)' has id \(id), outside 0..<\(numSpeakers) (num_speakers)")
        }
        if !(0..<numSpeakers).contains(defaultSpeakerID) {
            throw fail("default_speaker_id", "\(defaultSpeakerID) is outside 0..<\(numSpeakers) (num_speakers)")
        }
        for cluster in vowelClusters where cluster.count < 2 || phonemeIDMap[cluster.joined()] == nil {
            throw fail("vowel_clusters", "cluster \(cluster) must join two or more phonemes into one that "
                + "phoneme_id_map has")
        }
    }
}

/// A JSON value as the config holds it; decoding through it keeps numbers, booleans and strings apart.
private enum PiperJSON: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([PiperJSON])
    case object([String: PiperJSON])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([PiperJSON].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: PiperJSON].self))
        }
    }
}

/// Typed reads of the config's JSON values; a missing or `null` value takes the default where there is one, and
/// every failure names the file and the dotted field.
private struct ConfigFields {
    let file: String

    private func fail(_ field: String, _ reason: String) -> PiperError {
        .invalidConfig(file: file, field: field, reason: reason)
    }

    private func present(_ value: PiperJSON?) -> PiperJSON? {
        if case .null = value { return nil }
        return value
    }

    func object(_ value: PiperJSON?, _ field: String, required: Bool = true) throws -> [String: PiperJSON] {
        guard let value = present(value) else {
            if required { throw fail(field, "missing") }
            return [:]
        }
        guard case .object(let object) = value else { throw fail(field, "must be a JSON object") }
        return object
    }

    func int(_ value: PiperJSON?, _ field: String, default fallback: Int? = nil) throws -> Int {
        guard let value = present(value) else {
            guard let fallback else { throw fail(field, "missing") }
            return fallback
        }
        guard case .number(let number) = value, let int = Int(exactly: number) else {
            throw fail(field, "must be an integer")
        }
        return int
    }

    func float(_ value: PiperJSON?, _ field: String, default fallback: Float) throws -> Float {
        guard let value = present(value) else { return fallback }
        guard case .number(let number) = value, number.isFinite else { throw fail(field, "must be a number") }
        return Float(number)
    }

    func string(_ value: PiperJSON?, _ field: String, default fallback: String? = nil) throws -> String {
        guard let value = present(value) else {
            guard let fallback else { throw fail(field, "missing") }
            return fallback
        }
        guard case .string(let string) = value, !string.isEmpty else {
            throw fail(field, "must be a non-empty string")
        }
        return string
    }

    func optionalString(_ value: PiperJSON?, _ field: String) throws -> String? {
        guard let value = present(value) else { return nil }
        guard case .string(let string) = value else { throw fail(field, "must be a string") }
        return string
    }

    func idMap(_ value: PiperJSON?, _ field: String) throws -> [String: [Int]] {
        guard let value = present(value) else { throw fail(field, "missing") }
        guard case .object(let entries) = value, !entries.isEmpty else {
            throw fail(field, "must be a non-empty object of phoneme → [ids]")
        }
        var map: [String: [Int]] = [:]
        for (phoneme, ids) in entries {
            guard case .array(let list) = ids else {
                throw fail(field, "phoneme '\(phoneme)' must map to a list of ids")
            }
            map[phoneme] = try list.map { try int($0, "\(field)['\(phoneme)']") }
        }
        return map
    }

    func speakerMap(_ value: PiperJSON?, _ field: String) throws -> [String: Int] {
        guard let value = present(value) else { return [:] }
        guard case .object(let entries) = value else { throw fail(field, "must be an object of name → id") }
        var map: [String: Int] = [:]
        for (name, id) in entries {
            map[name] = try int(id, "\(field)['\(name)']")
        }
        return map
    }

    func clusters(_ value: PiperJSON?, _ field: String) throws -> [[String]] {
        guard let value = present(value) else { return [] }
        guard case .array(let list) = value else { throw fail(field, "must be a list of phoneme lists") }
        return try list.map { entry in
            guard case .array(let phonemes) = entry else { throw fail(field, "each cluster must be a list") }
            return try phonemes.map { try string($0, field) }
        }
    }
}
