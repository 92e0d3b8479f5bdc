import ArgumentParser
import Foundation
import KinoraMedia
import KinoraModels
import KinoraTensor

/// `kinora music`: a music cue from a prompt with Stable Audio Open 1.0 (a diffusers folder, or a stable-audio-tools
/// checkpoint) or Stable Audio Open Small (a checkpoint), written atomically as WAV, FLAC or Ogg at the model's rate
/// and channels. The sampler, and the default steps and guidance, follow what was loaded.
struct MusicCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "music", abstract: "Generate music or sound from a prompt with Stable Audio Open or MusicGen.",
        discussion: """
            The same settings and seed give diffusers' StableAudioPipeline audio when its sampler's noise is drawn \
            from the seed as Kinora draws it (diffusers draws it from a torchsde Brownian tree: the same \
            distribution, other numbers). The model makes up to its window (47.55 s for Stable Audio Open 1.0, \
            11.89 s for Small); --start and --seconds choose the span kept, and a span past the window is refused \
            before any work.

            A checkpoint file (stable-audio-tools' model.safetensors, ComfyUI's stable_audio_open_1.0.safetensors) \
            holds neither the T5 text encoder nor its tokenizer: give them with --t5 (ComfyUI's t5_base.safetensors, \
            or a transformers T5 file or folder) and --tokenizer (a folder with tokenizer.json or spiece.model, or \
            either file; t5-base's). Kinora ships none. model_config.json beside the checkpoint (or --model-config) \
            is read when present. Stable Audio Open Small samples with stable-audio-tools' ping-pong sampler (8 \
            steps, no guidance by default); 1.0 with the cosine DPM-Solver (100 steps, guidance 7).

            --init-audio starts Stable Audio Open 1.0 from a sound (audio-to-audio, diffusers' \
            initial_audio_waveforms): the file is resampled to the model's rate, mixed to its channels, cut to its \
            window or padded with silence, encoded by its VAE, and a sample of that added to the starting noise.

            --precision runs every model's activations in fp32, fp16 or bf16 (default: each model its weights' \
            type, as diffusers' and transformers' torch_dtype; the released Stable Audio and MusicGen weights are \
            f32), with arithmetic in f32 inside every kernel.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(
        name: .long,
        help: "A Stable Audio diffusers folder (model_index.json, tokenizer/, ...) or a stable-audio-tools checkpoint.")
    var model: String

    @Option(name: .long, help: "With a checkpoint file: the T5-base text encoder (t5_base.safetensors, or a folder).")
    var t5: String?

    @Option(name: .long, help: "With a checkpoint file: T5's tokenizer (folder, tokenizer.json or spiece.model).")
    var tokenizer: String?

    @Option(name: .long, help: "With a checkpoint file: its model_config.json (default: the one beside it, if any).")
    var modelConfig: String?

    @Option(name: .long, help: "With a checkpoint file holding no VAE: a file with the Oobleck VAE.")
    var vae: String?

    @Option(name: .long, help: "What to hear.")
    var prompt: String

    @Option(name: .long, help: "What to steer away from (default: none, zeros as the unconditional text).")
    var negative: String?

    @Option(name: .long, help: "Seconds of audio (default: Stable Audio's whole window; MusicGen: 30, at most 600).")
    var seconds: Double?

    @Option(name: .long, help: "Where the span starts in the model's window, in seconds.")
    var start: Double = 0

    @Option(name: .long, help: "Denoising steps (default: the model's, 100 for 1.0, 8 for Small).")
    var steps: Int?

    @Option(name: .long, help: "Classifier-free guidance scale, 1 or less: none (default: 7 for 1.0, 1 for Small).")
    var cfg: Float?

    @Option(
        name: .customLong("init-audio"),
        help: "Stable Audio Open 1.0: a sound to start from (WAV, FLAC, Ogg, or a file with an audio track).")
    var initAudio: String?

    @Option(name: .long, help: "Seed of the starting noise and the sampler's noise (MusicGen: of its sampling).")
    var seed: UInt64 = 0

    @Option(name: .customLong("top-k"), help: "MusicGen: sample from the k likeliest codes (default 250; 0: all).")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "MusicGen: sample from the likeliest codes adding up to p (0: off).")
    var topP: Float?

    @Option(name: .long, help: "MusicGen: the sampling temperature (default 1).")
    var temperature: Float?

    @Flag(name: .long, help: "MusicGen: take the likeliest code at every step instead of sampling.")
    var greedy = false

    @Option(name: .long, help: ArgumentHelp(
        "The activations' type: fp32, fp16 or bf16 (default: each model's weights' type, as torch_dtype).",
        discussion: "Arithmetic is f32 in every kernel; with fp16 T5's residual stream, norms and wo stay f32, as in "
            + "transformers; Stable Audio's time and seconds Fourier features are f32 whatever the type."))
    var precision: ActivationPrecision?

    @Option(name: .shortAndLong, help: "The audio file to write (.wav, .flac or .ogg).")
    var output: String

    func validate() throws {
        if let steps, !(1...1000).contains(steps) {
            throw ValidationError("--steps must be 1...1000, got \(steps)")
        }
        if let cfg, !cfg.isFinite { throw ValidationError("--cfg must be a finite number, got \(cfg)") }
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
        if Self.isMusicGenFolder(URL(fileURLWithPath: model)) { return try runMusicGen(output: outputURL) }
        guard topK == nil, topP == nil, temperature == nil, !greedy else {
            throw ValidationError("--top-k, --top-p, --temperature and --greedy are for MusicGen; --model \(model) is "
                + "Stable Audio")
        }
        let initialSound = try initAudio.map(Self.readSound)
        let pipeline = try loadPipeline()
        pipeline.precision = precision
        Self.report(activations: [
            ("T5", pipeline.textEncoder.activationType(precision)),
            ("projection", pipeline.projection.activationType(precision)),
            ("DiT", pipeline.transformer.activationType(precision)), ("VAE", pipeline.vae.activationType(precision)),
        ])
        let window = pipeline.maximumSeconds
        let end = seconds.map { start + $0 } ?? window
        guard start < window, end <= window + 1e-9 else {
            throw ValidationError(
                String(format: "%.2f s of audio asked; this model makes at most %.2f s", end - start, window)
                    + (start > 0
                        ? String(
                            format: " (its window), and --start %.2f leaves %.2f s", start,
                            max(window - start, 0)) : ""))
        }
        let steps = steps ?? pipeline.recommendedSteps
        let settings = StableAudioPipeline.Settings(
            prompt: prompt, negativePrompt: negative, secondsStart: start, secondsEnd: end, steps: steps,
            guidanceScale: cfg ?? pipeline.recommendedGuidance, seed: seed,
            initialAudio: try initialSound.map { try Self.initialAudio($0, for: pipeline) })
        let bar = ProgressBar(label: "denoising")
        let denoiseStarted = Date()
        let audio = try pipeline.generate(settings) { step, total in bar.update(step, of: total) }
        bar.finish()
        let buffer = try AudioBuffer(
            sampleRate: audio.sampleRate, channels: audio.channels, samples: audio.interleaved)
        try AudioFile.write(buffer, to: outputURL)
        let duration = Double(audio.frames) / Double(audio.sampleRate)
        let compute = Date().timeIntervalSince(denoiseStarted)
        print(
            "wrote \(outputURL.path): "
                + String(
                    format:
                        "%.2f s of %d-channel audio at %d Hz, %d steps in %.2f s (real-time factor %.2f), wall %.2f s",
                    duration, audio.channels, audio.sampleRate, steps, compute, duration / max(compute, 1e-9),
                    Date().timeIntervalSince(started)))
    }

    /// Says on standard error which activation type each model runs in, before any work.
    static func report(activations: [(model: String, dtype: DType)]) {
        let models = activations.map { "\($0.model) \($0.dtype.rawValue)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("activations: \(models)\n".utf8))
    }

    /// The sound of `path` for --init-audio: a file libsndfile reads (WAV, FLAC, Ogg), else the audio track FFmpeg
    /// decodes; a missing, unreadable or empty one is a clear error before any work.
    static func readSound(_ path: String) throws -> AudioBuffer {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ValidationError("--init-audio \(path) does not exist")
        }
        let sound: AudioBuffer
        do {
            sound = try AudioFile.read(url)
        } catch let unreadable {
            guard let track = try? AudioTrackReader.read(url) else {
                throw ValidationError("--init-audio \(path) is not an audio file Kinora reads: \(unreadable)")
            }
            sound = track
        }
        guard sound.frameCount > 0 else { throw ValidationError("--init-audio \(path) holds no samples") }
        return sound
    }

    /// `sound` as the pipeline's initial audio: at most the model's window (and a second more, for the resampler's
    /// filter) resampled to the VAE's rate, mixed to its channels, planar.
    static func initialAudio(
        _ sound: AudioBuffer, for pipeline: StableAudioPipeline
    ) throws -> StableAudioPipeline.Audio {
        let (rate, channels) = (pipeline.vae.configuration.samplingRate, pipeline.vae.configuration.audioChannels)
        let needed = Int((pipeline.maximumSeconds * Double(sound.sampleRate)).rounded(.up)) + sound.sampleRate
        let matched = try Resampler.resample(
            sound.resized(to: min(sound.frameCount, needed)).withChannels(channels), to: rate)
        let frames = matched.frameCount
        var planar = [Float](repeating: 0, count: matched.samples.count)
        for channel in 0..<channels {
            for frame in 0..<frames { planar[channel * frames + frame] = matched[frame, channel] }
        }
        return StableAudioPipeline.Audio(channels: channels, sampleRate: rate, samples: planar)
    }

    /// A diffusers folder, or a checkpoint file with its T5 and tokenizer; nothing runs before every part is found.
    private func loadPipeline() throws -> StableAudioPipeline {
        let url = URL(fileURLWithPath: model)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw ValidationError("--model \(model) is not a diffusers folder or a checkpoint file: it does not exist")
        }
        if isFolder.boolValue {
            guard FileManager.default.fileExists(atPath: url.appending(path: "model_index.json").path) else {
                throw ValidationError("--model \(model) is not a diffusers folder (no model_index.json)")
            }
            return try StableAudioPipeline(folder: url, device: try deviceOptions.open())
        }
        guard let t5 else {
            throw ValidationError(
                "--model \(model) is a checkpoint file, which holds no T5: give --t5 (t5_base.safetensors) and "
                    + "--tokenizer")
        }
        guard let tokenizer else {
            throw ValidationError(
                "--model \(model) is a checkpoint file, which holds no tokenizer: give --tokenizer (t5-base's folder, "
                    + "tokenizer.json or spiece.model)")
        }
        return try StableAudioPipeline(
            checkpoint: url, textEncoder: URL(fileURLWithPath: t5), tokenizer: URL(fileURLWithPath: tokenizer),
            configuration: modelConfig.map { URL(fileURLWithPath: $0) }, vae: vae.map { URL(fileURLWithPath: $0) },
            device: try deviceOptions.open())
    }
}
