/// One sentence ready for a Piper voice: its phonemes and their ids.
public struct PiperSentence: Sendable, Equatable {
    public var phonemes: [String]
    public var ids: [Int]

    public init(phonemes: [String], ids: [Int]) {
        self.phonemes = phonemes
        self.ids = ids
    }
}

/// What the text front end made of a text: its sentences, and the phonemes it skipped because the voice has no id
/// for them (in order of first appearance, each once). A staged workflow stores it after phonemizing and rebuilds
/// it (`init(sentences:skippedPhonemes:)`) to speak exactly those ids.
public struct PiperEncodedText: Sendable, Equatable {
    public var sentences: [PiperSentence]
    public var skippedPhonemes: [String]

    public init(sentences: [PiperSentence], skippedPhonemes: [String] = []) {
        self.sentences = sentences
        self.skippedPhonemes = skippedPhonemes
    }
}

/// Piper's text front end for one voice: text → sentences of phonemes (`PiperPhonemizer`) → phoneme ids
/// (`PiperPhonemeIDs`), the input of one synthesis per sentence.
public struct PiperTextFrontEnd: Sendable {
    public let phonemizer: PiperPhonemizer
    public let phonemeIDMap: [String: [Int]]

    public init(config: PiperVoiceConfig) {
        self.phonemizer = PiperPhonemizer(config: config)
        self.phonemeIDMap = config.phonemeIDMap
    }

    /// Encodes `text`; throws `PiperError.emptyText` for empty or blank text and `PiperError.noPhonemes` when nothing
    /// in it gives a phoneme.
    public func encode(_ text: String) throws -> PiperEncodedText {
        guard text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw PiperError.emptyText
        }
        let phonemes = try phonemizer.phonemize(text)
        guard !phonemes.isEmpty else { throw PiperError.noPhonemes(text: text) }
        var skipped: [String] = []
        let sentences = phonemes.map { sentencePhonemes in
            let encoded = PiperPhonemeIDs(phonemes: sentencePhonemes, map: phonemeIDMap)
            skipped += encoded.missing.filter { !skipped.contains($0) }
            return PiperSentence(phonemes: sentencePhonemes, ids: encoded.ids)
        }
        return PiperEncodedText(sentences: sentences, skippedPhonemes: skipped)
    }
}
