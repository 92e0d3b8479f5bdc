import Foundation
import KinoraMedia
import KinoraModels

/// The voice stages: phonemizing a line with its voice's front end, and speaking it.
///
/// Results on disk: `phonemize` writes what the voice's front end made of the line's text (`phonemes.json`: per
/// sentence its phonemes and ids, and the phonemes skipped); `speak` synthesises exactly those ids and writes the
/// line as 32-bit float WAV at the voice's rate (`speech.wav`).
extension ChainStageRunner {
    /// What `phonemes.json` holds.
    struct Phonemes: Codable {
        struct Sentence: Codable {
            var phonemes: [String]
            var ids: [Int]
        }

        var sentences: [Sentence]
        var skipped: [String]
    }

    func phonemize(_ stage: Stage, into folder: URL) throws {
        let text = try string(stage, "text"), voice = try string(stage, "voice")
        guard let url = locations[voice] else { throw RunnerError.unknownModel(stage: stage.id, key: voice) }
        let files = try PiperVoiceFiles(path: url)
        let encoded = try PiperTextFrontEnd(config: files.loadConfig()).encode(text)
        let sentences = encoded.sentences.map { Phonemes.Sentence(phonemes: $0.phonemes, ids: $0.ids) }
        let phonemes = Phonemes(sentences: sentences, skipped: encoded.skippedPhonemes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(phonemes).write(to: folder.appendingPathComponent("phonemes.json"))
    }

    func speak(_ stage: Stage, model: (any StageModel)?, phonemes: URL, into folder: URL) throws {
        guard let model, let synthesizer = voices[model.identity.key] else {
            throw RunnerError.modelNotLoaded(stage: stage.id, model: model?.identity.name ?? "voice")
        }
        let url = try file("phonemes.json", in: phonemes, for: stage)
        let stored: Phonemes
        do {
            stored = try JSONDecoder().decode(Phonemes.self, from: Data(contentsOf: url))
        } catch {
            throw RunnerError.invalidInput(stage: stage.id, file: url.path, reason: "\(error)")
        }
        guard !stored.sentences.isEmpty else {
            throw RunnerError.invalidInput(stage: stage.id, file: url.path, reason: "it holds no sentences")
        }
        let encoded = PiperEncodedText(
            sentences: stored.sentences.map { PiperSentence(phonemes: $0.phonemes, ids: $0.ids) },
            skippedPhonemes: stored.skipped)
        let speaker = stage.parameters.string("speaker").flatMap { $0.isEmpty ? nil : $0 }.map { name in
            name.hasPrefix("#") ? PiperSpeaker.id(Int(name.dropFirst()) ?? 0) : PiperSpeaker.name(name)
        }
        let speed = stage.parameters.number("speed") ?? 1
        let options = PiperSynthesisOptions(speaker: speaker,
                                            lengthScale: synthesizer.config.lengthScale / Float(speed))
        let speech = try synthesizer.speak(encoded, options: options)
        try requireFinite(speech.samples, "speech", of: stage, model: model)
        let audio = try AudioBuffer(sampleRate: speech.sampleRate, channels: 1, samples: speech.samples)
        try AudioFile.write(audio, to: folder.appendingPathComponent("speech.wav"), format: .wavFloat)
    }
}
