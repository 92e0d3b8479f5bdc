/// Phonemes to the ids a Piper voice was trained on, laid out as piper 1.8.0's `phonemes_to_ids`:
/// `BOS, PAD, p1, PAD, p2, PAD, …, pn, PAD, EOS` (each phoneme's ids followed by the pad's, none after EOS).
/// A phoneme the map lacks is skipped, as Piper does, and reported.
public struct PiperPhonemeIDs: Sendable, Equatable {
    /// The sentence's ids, BOS to EOS.
    public var ids: [Int]
    /// The phonemes that had no id, in order of first appearance, each once.
    public var missing: [String]

    /// Maps `phonemes` through `map`, which must hold the pad, BOS and EOS phonemes (`PiperVoiceConfig.validate`).
    public init(phonemes: [String], map: [String: [Int]]) {
        let pad = map[PiperVoiceConfig.pad] ?? []
        var ids = (map[PiperVoiceConfig.bos] ?? []) + pad
        var missing: [String] = []
        for phoneme in phonemes {
            guard let phonemeIDs = map[phoneme] else {
                if !missing.contains(phoneme) { missing.append(phoneme) }
                continue
            }
            ids += phonemeIDs + pad
        }
        ids += map[PiperVoiceConfig.eos] ?? []
        self.ids = ids
        self.missing = missing
    }
}
