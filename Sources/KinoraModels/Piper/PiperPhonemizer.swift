import Foundation

/// Text to phonemes grouped by sentence, as piper 1.8.0's `PiperVoice.phonemize`: for an espeak voice, each clause's
/// IPA from espeak-ng with `(lang)` switch flags removed and its punctuation appended (`, : ;` with a space after),
/// NFD-decomposed into single code points, known vowel clusters merged, one list per sentence; for a text voice, the
/// text's own NFD code points. Clause boundaries and punctuation come from `PiperClauseSplitter`, because Debian's
/// espeak-ng 1.51 cannot report them.
public struct PiperPhonemizer: Sendable {
    public var espeakVoice: String
    public var phonemeType: PiperPhonemeType
    public var vowelClusters: [[String]]

    public init(espeakVoice: String, phonemeType: PiperPhonemeType = .espeak, vowelClusters: [[String]] = []) {
        self.espeakVoice = espeakVoice
        self.phonemeType = phonemeType
        self.vowelClusters = vowelClusters
    }

    public init(config: PiperVoiceConfig) {
        self.init(espeakVoice: config.espeakVoice, phonemeType: config.phonemeType,
                  vowelClusters: config.vowelClusters)
    }

    /// The phonemes of each sentence of `text`; sentences without phonemes are left out.
    public func phonemize(_ text: String) throws -> [[String]] {
        if phonemeType == .text {
            let phonemes = Self.codePoints(text)
            return phonemes.isEmpty ? [] : [phonemes]
        }
        var sentences: [[String]] = []
        var sentence: [String] = []
        for clause in PiperClauseSplitter.split(text) {
            let spoken = clause.text.unicodeScalars.contains { !$0.properties.isWhitespace }
                ? try EspeakNG.shared.phonemes(for: clause.text, voice: espeakVoice) : ""
            var phonemes = Self.removingLanguageFlags(spoken) + clause.terminator
            if [",", ":", ";"].contains(clause.terminator) {
                phonemes += " "
            }
            sentence += Self.codePoints(phonemes)
            if clause.endsSentence {
                sentences.append(mergingVowelClusters(sentence))
                sentence = []
            }
        }
        sentences.append(mergingVowelClusters(sentence))
        return sentences.filter { !$0.isEmpty }
    }

    /// NFD-decomposes `text` and splits it into single code points, so accents become phonemes of their own.
    static func codePoints(_ text: String) -> [String] {
        text.decomposedStringWithCanonicalMapping.unicodeScalars.map { String($0) }
    }

    /// Drops espeak-ng's language switch flags, e.g. `(fr)`: every `(` … `)` with at least one character between.
    static func removingLanguageFlags(_ phonemes: String) -> String {
        var result = String.UnicodeScalarView()
        let scalars = Array(phonemes.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "(", let close = scalars[(index + 1)...].firstIndex(of: ")"), close > index + 1 {
                index = close + 1
                continue
            }
            result.append(scalars[index])
            index += 1
        }
        return String(result)
    }

    /// Joins runs of phonemes that form a known vowel cluster into one phoneme, longest cluster first.
    func mergingVowelClusters(_ phonemes: [String]) -> [String] {
        guard let longest = vowelClusters.map(\.count).max() else { return phonemes }
        let clusters = Set(vowelClusters)
        var merged: [String] = []
        var index = 0
        while index < phonemes.count {
            let match = stride(from: min(longest, phonemes.count - index), through: 2, by: -1).first { length in
                clusters.contains(Array(phonemes[index..<(index + length)]))
            }
            if let length = match {
                merged.append(phonemes[index..<(index + length)].joined())
                index += length
            } else {
                merged.append(phonemes[index])
                index += 1
            }
        }
        return merged
    }
}
