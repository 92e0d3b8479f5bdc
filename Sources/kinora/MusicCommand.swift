import ArgumentParser
import Foundation
import KinoraMedia
import KinoraModels

/// `kinora music`: a music cue from a prompt with Stable Audio Open 1.0 (a diffusers folder), written atomically as
/// WAV, FLAC or Ogg at the model's rate and channels.
struct MusicCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "music", abstract: "Generate music or sound from a prompt with Stable Audio Open.",
        discussion: """
            The same settings and seed give diffusers' StableAudioPipeline audio when its sampler's noise is drawn \
            from the seed as Kinora draws it (diffusers draws it from a torchsde Brownian tree: the same \
            distribution, other numbers). The model makes up to its window (47.55 s for Stable Audio Open 1.0); \
            --start and --seconds choose the span kept.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(name: .long, help: "The Stable Audio diffusers folder (model_index.json, tokenizer/, text_encoder/, ...).")
    var model: String

    @Option(name: .long, help: "What to hear.")
    var prompt: String

    @Option(name: .long, help: "What to steer away from (default: none, zeros as the unconditional text).")
    var negative: String?

    @Option(name: .long, help: "Seconds of audio (default: the model's whole window).")
    var seconds: Double?

    @Option(name: .long, help: "Where the span starts in the model's window, in seconds.")
    var start: Double = 0

    @Option(name: .long, help: "Denoising steps.")
    var steps = 100

    @Option(name: .long, help: "Classifier-free guidance scale (1 or less: none).")
    var cfg: Float = 7

    @Option(name: .long, help: "Seed of the starting noise and the sampler's noise.")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: "The audio file to write (.wav, .flac or .ogg).")
    var output: String

    func validate() throws {
        guard (1...1000).contains(steps) else { throw ValidationError("--steps must be 1...1000, got \(steps)") }
        guard cfg.isFinite else { throw ValidationError("--cfg must be a finite number, got \(cfg)") }
        if let seconds, !(seconds.isFinite && seconds > 0) {
            throw ValidationError("--seconds must be a positive number, got \(seconds)")
        }
        guard start.isFinite, start >= 0 else { throw ValidationError("--start must be 0 or more, got \(start)") }
    }

    func run() throws {
        let started = Date()
        let outputURL = URL(fileURLWithPath: output)
        _ = try AudioFileFormat(for: outputURL)
        _ = try AtomicOutput(outputURL)
        let folder = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: folder.appending(path: "model_index.json").path) else {
            throw ValidationError("--model \(model) is not a diffusers folder (no model_index.json)")
        }
        let pipeline = try StableAudioPipeline(folder: folder, device: try deviceOptions.open())
        let settings = StableAudioPipeline.Settings(
            prompt: prompt, negativePrompt: negative, secondsStart: start,
            secondsEnd: seconds.map { start + $0 }, steps: steps, guidanceScale: cfg, seed: seed)
        let bar = ProgressBar(label: "denoising")
        let denoiseStarted = Date()
        let audio = try pipeline.generate(settings) { step, total in bar.update(step, of: total) }
        bar.finish()
        // Planar channels to the interleaved frames the writer takes.
        let frames = audio.frames
        var interleaved = [Float](repeating: 0, count: audio.samples.count)
        for channel in 0..<audio.channels {
            for frame in 0..<frames {
                interleaved[frame * audio.channels + channel] = audio.samples[channel * frames + frame]
            }
        }
        let buffer = try AudioBuffer(sampleRate: audio.sampleRate, channels: audio.channels, samples: interleaved)
        try AudioFile.write(buffer, to: outputURL)
        let duration = Double(frames) / Double(audio.sampleRate)
        let compute = Date().timeIntervalSince(denoiseStarted)
        print(
            "wrote \(outputURL.path): " + String(
                format: "%.2f s of %d-channel audio at %d Hz, %d steps in %.2f s (real-time factor %.2f), wall %.2f s",
                duration, audio.channels, audio.sampleRate, steps, compute, duration / max(compute, 1e-9),
                Date().timeIntervalSince(started)))
    }
}
