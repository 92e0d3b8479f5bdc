import Foundation
import KinoraGPU

/// How to speak a text with a Piper voice. Unset scales take the voice config's `inference` values.
public struct PiperSynthesisOptions: Sendable, Equatable {
    /// The pause between sentences, in seconds. piper 1.8.0's command line defaults to none; the original C++
    /// Piper used 0.2 s, which Kinora keeps so that sentences do not run into each other.
    public static let defaultSentenceSilence = 0.2

    public var speaker: PiperSpeaker?
    public var noiseScale: Float?
    public var lengthScale: Float?
    public var noiseW: Float?
    public var sentenceSilence: Double
    /// Seeds the noise of the first sentence; sentence `i` uses `seed + i`.
    public var seed: UInt64
    /// Scales each sentence to a peak of 1, as Piper does by default (`normalize_audio`).
    public var normalizesAudio: Bool

    public init(speaker: PiperSpeaker? = nil, noiseScale: Float? = nil, lengthScale: Float? = nil,
                noiseW: Float? = nil, sentenceSilence: Double = defaultSentenceSilence, seed: UInt64 = 0,
                normalizesAudio: Bool = true) {
        self.speaker = speaker
        self.noiseScale = noiseScale
        self.lengthScale = lengthScale
        self.noiseW = noiseW
        self.sentenceSilence = sentenceSilence
        self.seed = seed
        self.normalizesAudio = normalizesAudio
    }

    /// The scales for `config`'s voice: the ones set here, the config's for the rest.
    public func scales(for config: PiperVoiceConfig) -> PiperScales {
        PiperScales(noiseScale: noiseScale ?? config.noiseScale, lengthScale: lengthScale ?? config.lengthScale,
                    noiseW: noiseW ?? config.noiseW)
    }
}

/// A spoken text: mono samples in [-1, 1], and what it took to make them.
public struct PiperSpeech: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    public var sentenceCount: Int
    /// Phonemes the voice has no id for, skipped as Piper does.
    public var skippedPhonemes: [String]
    /// Seconds spent in the voice model (text front end and model loading excluded).
    public var synthesisSeconds: Double

    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}

/// Text to speech with a Piper voice: the text front end splits the text into sentences of phoneme ids, the VITS
/// voice speaks each, and the sentences are joined with a pause between them.
public final class PiperSynthesizer: @unchecked Sendable {
    public let files: PiperVoiceFiles
    public let config: PiperVoiceConfig
    public let frontEnd: PiperTextFrontEnd
    public let voice: PiperVoice

    /// Loads the voice's model onto `device`; `config` is the voice's config, read from `files` when not given.
    public init(files: PiperVoiceFiles, config: PiperVoiceConfig? = nil, device: GPUDevice) throws {
        self.files = files
        let config = try config ?? files.loadConfig()
        self.config = config
        frontEnd = PiperTextFrontEnd(config: config)
        voice = try PiperVoice(model: files.model, sampleRate: config.sampleRate, speakers: config.numSpeakers,
                               device: device)
    }

    /// Speaks `text`. Throws for empty text, a text without phonemes, an unknown speaker or a negative pause.
    public func speak(_ text: String, options: PiperSynthesisOptions = PiperSynthesisOptions()) throws -> PiperSpeech {
        try speak(frontEnd.encode(text), options: options)
    }

    /// Speaks text the front end has already encoded, one synthesis per sentence.
    public func speak(_ encoded: PiperEncodedText, options: PiperSynthesisOptions = PiperSynthesisOptions()) throws
        -> PiperSpeech {
        guard options.sentenceSilence.isFinite, options.sentenceSilence >= 0 else {
            throw PiperError.invalidSentenceSilence(seconds: options.sentenceSilence)
        }
        let speaker = try PiperSpeaker.resolve(options.speaker, in: config)
        let scales = options.scales(for: config)
        let pause = [Float](repeating: 0, count: Int(Double(voice.sampleRate) * options.sentenceSilence))
        var samples: [Float] = []
        var synthesisSeconds = 0.0
        for (index, sentence) in encoded.sentences.enumerated() {
            let started = Date()
            let audio = try voice.synthesize(phonemeIDs: sentence.ids, speaker: speaker, scales: scales,
                                             seed: options.seed &+ UInt64(index))
            synthesisSeconds += Date().timeIntervalSince(started)
            if index > 0 { samples += pause }
            samples += options.normalizesAudio ? Self.normalized(audio) : audio.map { min(max($0, -1), 1) }
        }
        return PiperSpeech(samples: samples, sampleRate: voice.sampleRate, sentenceCount: encoded.sentences.count,
                           skippedPhonemes: encoded.skippedPhonemes, synthesisSeconds: synthesisSeconds)
    }

    /// Piper's peak normalisation: scaled so the largest magnitude is 1 (silence stays silence).
    static func normalized(_ audio: [Float]) -> [Float] {
        let peak = audio.reduce(Float(0)) { max($0, abs($1)) }
        guard peak >= 1e-8 else { return [Float](repeating: 0, count: audio.count) }
        return audio.map { min(max($0 / peak, -1), 1) }
    }
}
