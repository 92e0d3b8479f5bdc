import ArgumentParser
import Foundation
import KinoraMedia
import KinoraModels

/// `kinora speak`: text to speech with a Piper VITS voice, written as an audio file.
struct SpeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speak",
        abstract: "Speak text with a Piper voice.",
        discussion: """
            The text comes from the TEXT argument, from --file, or from standard input when TEXT is '-'. It is \
            split into sentences as Piper does (espeak-ng), each sentence is synthesised on the GPU, and the \
            sentences are joined with --sentence-silence seconds between them.

            Example: kinora speak "Hello there. How are you?" -o line.wav
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "The text to speak, or '-' to read it from standard input.")
    var text: String?

    @Option(name: .long, help: "Read the text from this file instead.")
    var file: String?

    @Option(name: .long, help: ArgumentHelp(
        "A Piper voice's .onnx file, with its .onnx.json next to it.",
        discussion: "Default: $\(DefaultPiperVoice.environmentVariable), else the en_US-joe-medium voice that "
            + "scripts/setup.sh installs."))
    var voice: String?

    @Option(name: .long, help: "Speaker id or name (multi-speaker voices).")
    var speaker: String?

    @Option(name: .long, help: "Phoneme duration multiplier; larger is slower (default: the voice's).")
    var lengthScale: Float?

    @Option(name: .long, help: "Noise of the generator (default: the voice's).")
    var noiseScale: Float?

    @Option(name: .long, help: "Noise of the phoneme durations (default: the voice's).")
    var noiseW: Float?

    @Option(name: .long, help: "Seconds of silence between sentences.")
    var sentenceSilence = PiperSynthesisOptions.defaultSentenceSilence

    @Option(name: .long, help: "Seed of the noise.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Keep each sentence's level as the voice made it (Piper scales it to full range).")
    var noNormalize = false

    @Option(name: .shortAndLong, help: "The audio file to write (.wav, .flac or .ogg).")
    var output: String

    func validate() throws {
        if text != nil && file != nil {
            throw ValidationError("give the text either as TEXT or with --file, not both")
        }
        if text == nil && file == nil {
            throw ValidationError("no text: give TEXT, --file FILE, or '-' to read standard input")
        }
        guard sentenceSilence.isFinite, sentenceSilence >= 0 else {
            throw ValidationError("--sentence-silence must be 0 or more seconds, got \(sentenceSilence)")
        }
    }

    func run() throws {
        let started = Date()
        let outputURL = URL(fileURLWithPath: output)
        _ = try AudioFileFormat(for: outputURL)
        _ = try AtomicOutput(outputURL)
        let files = try voice.map { try PiperVoiceFiles(path: URL(fileURLWithPath: $0)) } ?? DefaultPiperVoice.locate()
        let config = try files.loadConfig()
        let speakerChoice = speaker.map(PiperSpeaker.init(argument:))
        _ = try PiperSpeaker.resolve(speakerChoice, in: config)
        let encoded = try PiperTextFrontEnd(config: config).encode(try readText())
        if !encoded.skippedPhonemes.isEmpty {
            let listed = encoded.skippedPhonemes.map(Self.describe).joined(separator: ", ")
            FileHandle.standardError.write(Data("warning: skipped phonemes the voice has no id for: \(listed)\n".utf8))
        }

        let synthesizer = try PiperSynthesizer(files: files, config: config, device: try deviceOptions.open())
        let options = PiperSynthesisOptions(
            speaker: speakerChoice, noiseScale: noiseScale, lengthScale: lengthScale, noiseW: noiseW,
            sentenceSilence: sentenceSilence, seed: seed, normalizesAudio: !noNormalize)
        let speech = try synthesizer.speak(encoded, options: options)
        let audio = try AudioBuffer(sampleRate: speech.sampleRate, channels: 1, samples: speech.samples)
        try AudioFile.write(audio, to: outputURL)

        let factor = speech.synthesisSeconds > 0 ? speech.duration / speech.synthesisSeconds : 0
        print("wrote \(outputURL.path): \(speech.sentenceCount) sentence(s), "
            + String(format: "audio %.3f s, compute %.3f s, real-time factor %.2f, wall %.3f s",
                     speech.duration, speech.synthesisSeconds, factor, Date().timeIntervalSince(started)))
    }

    /// The text from the argument, the file, or standard input.
    private func readText() throws -> String {
        if let file {
            // Errors about the file, not the command line: one line, without the usage text a ValidationError adds.
            try InputFile.requireRegular(URL(fileURLWithPath: file))
            do {
                return try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw Kinora.Failure(description: "cannot read the text file \(file): \(error.localizedDescription)")
            }
        }
        guard let text, text != "-" else {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let input = String(data: data, encoding: .utf8) else {
                throw ValidationError("standard input is not UTF-8 text")
            }
            return input
        }
        return text
    }

    /// A phoneme with its code point, e.g. `'ʘ' (U+0298)`.
    private static func describe(_ phoneme: String) -> String {
        let codes = phoneme.unicodeScalars.map { String(format: "U+%04X", $0.value) }.joined(separator: " ")
        return "'\(phoneme)' (\(codes))"
    }
}
