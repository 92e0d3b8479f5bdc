import Foundation
import KinoraGPU
import KinoraTensor

/// diffusers' `StableAudioPipeline`: text and a time span to stereo audio with Stable Audio Open 1.0 — the prompt
/// through the T5 encoder and the projection model, the span's start and end seconds as two more conditioning tokens
/// (and, side by side, the DiT's global token), the DiT over `sample_size` latent frames with classifier-free guidance
/// (zeros as the unconditional text without a negative prompt), `CosineDPMSolverMultistepScheduler`, the Oobleck
/// VAE's decode, and the span cut out of the decoded audio.
///
/// With an initial audio (`Settings.initialAudio`), audio-to-audio as diffusers' `initial_audio_waveforms` runs it: the
/// audio, its channels matched to the VAE's and cut or padded with silence to the window, is encoded by the Oobleck
/// VAE, and a sample of that posterior (drawn after the starting latents) is added to the scaled starting noise.
///
/// The sampler's SDE noise is drawn from the same seeded `TorchRandom` as the starting latents, one tensor per step
/// (diffusers draws it from a torchsde Brownian tree: the same distribution, other numbers), so a seed reproduces
/// Kinora's audio, and diffusers' audio from that noise (`StableAudioPipelineTests`).
///
/// Loaded from a stable-audio-tools checkpoint (`init(checkpoint:textEncoder:tokenizer:device:)`), the pipeline also
/// runs Stable Audio Open Small: seconds total as the only timing token, query/key norms in the DiT, and a
/// rectified-flow model sampled with `PingPongFlowSampler` (`sampling`).
///
/// Each model runs its activations in `precision` (`--precision`), by default in its weights' type as diffusers'
/// `torch_dtype`: T5 (`UMT5EncoderModel+Precision`: with f16 its residual stream, norms and `wo` stay f32, as
/// transformers' `_keep_in_fp32_modules`), the projection model, the DiT and the VAE (each's `+Precision` file says
/// what stays f32). The conditioning is handed to the DiT in its activation type, as diffusers casts it to the
/// transformer's dtype; the sampler's arithmetic and the latents between steps are f32 on the host.
public final class StableAudioPipeline {
    public let tokenizer: T5Tokenizer
    public let textEncoder: UMT5EncoderModel
    public let projection: StableAudioProjectionModel
    public let transformer: StableAudioDiTModel
    public let vae: AutoencoderOobleck
    /// The cosine DPM-Solver's configuration (`scheduler/scheduler_config.json`; Stable Audio Open 1.0's when loaded
    /// from a checkpoint); unused when `sampling` is `.pingPong`.
    public let scheduler: SchedulerConfiguration
    /// How the model is sampled: what its objective calls for.
    public let sampling: StableAudioSampling
    /// Tokens every prompt is padded or truncated to (`tokenizer.model_max_length`; 128 when the folder says none).
    public let promptTokens: Int
    public let arena: ActivationArena
    /// The activation precision every model runs in; nil: each its weights' type (f32 for stable-audio-open-1.0).
    public var precision: ActivationPrecision?
    /// Latent frames the VAE decodes at a time (stable-audio-tools' chunk), each with its context, where the device's
    /// largest buffer allows (`AutoencoderOobleck.decodeChunkFrames`).
    public static let decodeChunkFrames = 128
    /// Latent frames of initial audio the VAE encodes at a time, each with its context, where the device allows.
    public static let encodeChunkFrames = 128

    /// What one generation asks for.
    public struct Settings: Sendable {
        public var prompt: String
        /// Steered away from with guidance; nil: zeros as the unconditional text, as diffusers does.
        public var negativePrompt: String?
        /// The span of the model's window to keep, in seconds (`audio_start_in_s`, `audio_end_in_s`; nil: to the
        /// window's end).
        public var secondsStart: Double
        public var secondsEnd: Double?
        public var steps: Int
        /// Classifier-free guidance; 1 or less runs the conditional pass alone.
        public var guidanceScale: Float
        public var seed: UInt64
        /// Audio to start from (diffusers' `initial_audio_waveforms` and `initial_audio_sampling_rate`): at the VAE's
        /// sample rate (else refused: resample it first), mono or the VAE's channels (mono is repeated to stereo,
        /// stereo averaged to mono), of any length (cut to the model's window or padded with silence); nil: text to
        /// audio. Cosine-DPM models only (Stable Audio Open 1.0), as diffusers runs them.
        public var initialAudio: Audio?

        public init(
            prompt: String, negativePrompt: String? = nil, secondsStart: Double = 0, secondsEnd: Double? = nil,
            steps: Int = 100, guidanceScale: Float = 7, seed: UInt64 = 0, initialAudio: Audio? = nil
        ) {
            self.prompt = prompt
            self.negativePrompt = negativePrompt
            self.secondsStart = secondsStart
            self.secondsEnd = secondsEnd
            self.steps = steps
            self.guidanceScale = guidanceScale
            self.seed = seed
            self.initialAudio = initialAudio
        }
    }

    /// Decoded audio: `channels` planar channels of `samples.count / channels` samples each.
    public typealias Audio = GeneratedAudio

    /// Loads a diffusers folder: `tokenizer/`, `text_encoder/`, `projection_model/`, `transformer/`, `vae/`,
    /// `scheduler/`.
    public convenience init(folder: URL, device: GPUDevice) throws {
        func part(_ name: String) throws -> URL {
            let url = folder.appending(path: name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw StableAudioPipelineError.missingPart(folder: folder.path, part: name)
            }
            return url
        }
        try self.init(
            tokenizer: T5Tokenizer(folder: part("tokenizer")),
            textEncoder: UMT5EncoderModel(folder: part("text_encoder"), device: device),
            projection: StableAudioProjectionModel(folder: part("projection_model"), device: device),
            transformer: StableAudioDiTModel(folder: part("transformer"), device: device),
            vae: AutoencoderOobleck(folder: part("vae"), device: device),
            scheduler: SchedulerConfiguration(contentsOf: part("scheduler").appending(path: "scheduler_config.json")),
            sampling: .cosineDPM,
            promptTokens: Self.modelMaxLength(folder.appending(path: "tokenizer/tokenizer_config.json")) ?? 128,
            device: device, source: folder.path)
    }

    /// The pipeline from its parts; throws `mismatchedParts` naming `source` when their sizes do not fit together.
    init(
        tokenizer: T5Tokenizer, textEncoder: UMT5EncoderModel, projection: StableAudioProjectionModel,
        transformer: StableAudioDiTModel, vae: AutoencoderOobleck, scheduler: SchedulerConfiguration,
        sampling: StableAudioSampling, promptTokens: Int, device: GPUDevice, source: String
    ) throws {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.projection = projection
        self.transformer = transformer
        self.vae = vae
        self.scheduler = scheduler
        self.sampling = sampling
        self.promptTokens = promptTokens
        arena = ActivationArena(device: device)
        guard projection.configuration.textEncoderDim == textEncoder.configuration.dModel,
            transformer.configuration.inChannels == vae.configuration.decoderInputChannels,
            transformer.configuration.crossAttentionInputDim == projection.configuration.conditioningDim,
            transformer.configuration.globalStatesInputDim == projection.configuration.globalDim
        else {
            throw StableAudioPipelineError.mismatchedParts(
                folder: source,
                reason: "the text encoder's width \(textEncoder.configuration.dModel), the projection's "
                    + "\(projection.configuration.textEncoderDim) → \(projection.configuration.conditioningDim), the "
                    + "DiT's \(transformer.configuration.inChannels) channels and the VAE's "
                    + "\(vae.configuration.decoderInputChannels) and its global token "
                    + "\(transformer.configuration.globalStatesInputDim) wide (the seconds tokens' "
                    + "\(projection.configuration.globalDim)) do not fit together")
        }
    }

    /// The steps the model is meant to be sampled with: 8 for a ping-pong (distilled rectified-flow) model, else 100.
    public var recommendedSteps: Int { sampling == .pingPong ? 8 : 100 }

    /// The guidance the model is meant to be sampled with: none (1) for a ping-pong model, else 7.
    public var recommendedGuidance: Float { sampling == .pingPong ? 1 : 7 }

    /// The longest span the model makes, in seconds: `sample_size` latent frames of `hop_length` samples.
    public var maximumSeconds: Double {
        Double(transformer.configuration.sampleSize * vae.configuration.hopLength)
            / Double(vae.configuration.samplingRate)
    }

    /// Runs the pipeline; `progress` gets (step done, steps) after each step.
    public func generate(_ settings: Settings, progress: (Int, Int) -> Void = { _, _ in }) throws -> Audio {
        let end = settings.secondsEnd ?? maximumSeconds
        try validate(settings, end: end)
        let guidance = settings.guidanceScale > 1
        let (encoderHiddenStates, globalHiddenStates) = try conditioning(settings, end: end, guidance: guidance)
        var random = TorchRandom(seed: settings.seed)
        let shape = [1, transformer.configuration.inChannels, transformer.configuration.sampleSize]
        let count = shape.reduce(1, *)
        // The model's guided output for `input` at `timestep`.
        func predict(_ scaled: [Float], _ timestep: Float) throws -> [Float] {
            let prediction = try {
                defer { arena.trim() }
                let graph = Graph(arena: arena)
                graph.activationDType = transformer.activationType(precision)
                let input = try graph.input(
                    guidance ? scaled + scaled : scaled, shape: [guidance ? 2 : 1] + shape[1...])
                let output = try transformer(
                    graph, hiddenStates: input, timestep: [timestep],
                    encoderHiddenStates: graph.input(encoderHiddenStates),
                    globalHiddenStates: graph.input(globalHiddenStates))
                return try graph.run([output])[0].floats()
            }()
            return guidance
                ? (0..<count).map { index in
                    let unconditional = prediction[index]
                    return unconditional + settings.guidanceScale * (prediction[count + index] - unconditional)
                } : prediction
        }
        var latents: [Float]
        var step = 0
        switch sampling {
        case .cosineDPM:
            var sampler = try CosineDPMSolverMultistepScheduler(configuration: scheduler, steps: settings.steps)
            latents = sampler.initialLatents(&random, count: count)
            if let initialAudio = settings.initialAudio {
                // `encoded_audio + latents`, the posterior's noise drawn after the starting latents'.
                latents = try zip(encodeInitialAudio(initialAudio, noise: &random), latents).map(+)
            }
            while let timestep = sampler.currentTimestep {
                let guided = try predict(sampler.scaleModelInput(latents), timestep)
                latents = try sampler.step(guided, sample: latents, noise: &random).sample
                step += 1
                progress(step, settings.steps)
            }
        case .pingPong:
            var sampler = try PingPongFlowSampler(steps: settings.steps)
            latents = sampler.initialLatents(&random, count: count)
            while let timestep = sampler.currentTimestep {
                latents = sampler.step(try predict(latents, timestep), sample: latents, noise: &random)
                step += 1
                progress(step, settings.steps)
            }
        }
        let broken = latents.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
        guard broken == 0 else { throw StableAudioPipelineError.nonFinite(count: broken, total: latents.count) }
        // The decode in chunks with context (the whole decode's audio, one chunk's activations).
        let chunk = try vae.decodeChunkFrames(
            batch: shape[0], preferred: Self.decodeChunkFrames, maxBufferBytes: arena.device.memory.maxBufferSize,
            arena: arena, activations: vae.activationType(precision))
        let decoded = try vae.decodeChunks(
            latents, shape: shape, chunkFrames: chunk, arena: arena, precision: precision)
        // The span: `int(seconds · sampling_rate)` samples from the start, as diffusers cuts it.
        let rate = Double(vae.configuration.samplingRate)
        let channels = vae.configuration.audioChannels
        let length = decoded.count / channels
        let first = min(Int(settings.secondsStart * rate), length)
        let last = min(max(Int(end * rate), first), length)
        var samples: [Float] = []
        samples.reserveCapacity(channels * (last - first))
        for channel in 0..<channels {
            samples += decoded[(channel * length + first)..<(channel * length + last)]
        }
        return Audio(channels: channels, sampleRate: vae.configuration.samplingRate, samples: samples)
    }

    /// The posterior sample of `audio` that diffusers' `prepare_latents` adds to the starting noise, [1,
    /// decoder_input_channels, sample_size] as a flat array: the audio's channels matched to the VAE's (mono repeated,
    /// stereo averaged), cut or padded with silence to `sample_size · hop_length` samples, encoded, and sampled with
    /// `noise` (its next draw, `latent_dist.sample(generator)`), in chunks with context (the whole encode's sample, one
    /// chunk's activations). The VAE's encoder weights are released afterwards: nothing else reads them.
    func encodeInitialAudio(_ audio: Audio, noise: inout TorchRandom) throws -> [Float] {
        let channels = vae.configuration.audioChannels
        let length = transformer.configuration.sampleSize * vae.configuration.hopLength
        let (frames, kept) = (audio.frames, min(audio.frames, length))
        // A channel's sample: the audio's own, mono repeated, or stereo averaged (diffusers' `repeat`, `mean`).
        func matched(_ channel: Int, _ frame: Int) -> Float {
            if audio.channels == channels { return audio.samples[channel * frames + frame] }
            if audio.channels == 1 { return audio.samples[frame] }
            return (audio.samples[frame] + audio.samples[frames + frame]) / 2
        }
        var window = [Float](repeating: 0, count: channels * length)
        for channel in 0..<channels {
            for frame in 0..<kept { window[channel * length + frame] = matched(channel, frame) }
        }
        defer { vae.weights.evict(vae.weights.uploadedNames.filter { $0.hasPrefix("encoder.") }) }
        let draw = noise.normal(count: vae.configuration.decoderInputChannels * transformer.configuration.sampleSize)
        let activations = vae.activationType(precision)
        return try vae.encodeChunks(
            window, shape: [1, channels, length], noise: draw,
            chunkFrames: vae.encodeChunkFrames(
                preferred: Self.encodeChunkFrames, maxBufferBytes: arena.device.memory.maxBufferSize, arena: arena,
                activations: activations),
            arena: arena, precision: precision)
    }

    /// The DiT's text-and-seconds tokens and global token, [B, L + 2, D] and [B, 1, 2D], B = 2 with guidance (the
    /// unconditional half first: zeros without a negative prompt, else the negative prompt's), in the DiT's activation
    /// type: T5 records in its activation type, the projection in its own.
    private func conditioning(_ settings: Settings, end: Double, guidance: Bool) throws -> (Tensor, Tensor) {
        defer { arena.trim() }
        let prompts = [guidance ? settings.negativePrompt : nil, settings.prompt].compactMap { $0 }
        let encodings = prompts.map { tokenizer.encode($0, maximumLength: promptTokens) }
        let graph = Graph(arena: arena)
        let seconds = (start: Float(settings.secondsStart), end: Float(end))
        let (tokens, global) = try projection.recordConditioning(
            graph, textEncoder: textEncoder, ids: encodings.map(\.ids),
            attentionMask: encodings.map(\.attentionMask),
            secondsStart: [Float](repeating: seconds.start, count: encodings.count),
            secondsEnd: [Float](repeating: seconds.end, count: encodings.count), precision: precision)
        let dit = transformer.activationType(precision)
        guard guidance, encodings.count == 1 else {
            let results = try graph.run([graph.cast(tokens, to: dit), graph.cast(global, to: dit)])
            return (results[0], results[1])
        }
        // Guidance without a negative prompt: zeros as the unconditional text and seconds tokens, the global token
        // repeated.
        let zeros = try graph.scale(tokens, by: 0)
        let results = try graph.run([
            graph.cast(graph.concat([zeros, tokens], axis: 0), to: dit),
            graph.cast(graph.concat([global, global], axis: 0), to: dit),
        ])
        return (results[0], results[1])
    }

    private func validate(_ settings: Settings, end: Double) throws {
        let (start, minimum, maximum) = (
            settings.secondsStart, Double(projection.configuration.minValue),
            Double(projection.configuration.maxValue)
        )
        guard settings.steps >= 1, settings.steps <= 1000 else {
            throw StableAudioPipelineError.invalidRequest("steps must be 1...1000, got \(settings.steps)")
        }
        guard settings.guidanceScale.isFinite else {
            throw StableAudioPipelineError.invalidRequest("guidance must be a finite number")
        }
        guard start.isFinite, end.isFinite, start >= minimum, start <= maximum, end > start else {
            throw StableAudioPipelineError.invalidRequest(
                "the span \(start)...\(end) s must start within \(minimum)...\(maximum) s and end after it")
        }
        guard end - start <= maximumSeconds + 1e-9 else {
            throw StableAudioPipelineError.invalidRequest(
                String(format: "%.2f s of audio asked; this model makes at most %.2f s", end - start, maximumSeconds))
        }
        if let audio = settings.initialAudio { try validate(initialAudio: audio) }
    }

    /// What diffusers' `check_inputs` and `prepare_latents` refuse in an initial audio, and what it would silently
    /// spoil: another sample rate, channels it cannot match, a ragged sample count, samples that are not finite.
    private func validate(initialAudio audio: Audio) throws {
        let (rate, channels) = (vae.configuration.samplingRate, vae.configuration.audioChannels)
        guard sampling == .cosineDPM else {
            throw StableAudioPipelineError.invalidRequest(
                "an initial audio is added to the starting noise of a cosine-DPM model as diffusers does; this "
                    + "ping-pong (rectified-flow) model takes none")
        }
        guard audio.sampleRate == rate else {
            throw StableAudioPipelineError.invalidRequest(
                "the initial audio is at \(audio.sampleRate) Hz; the VAE takes \(rate) Hz: resample it first")
        }
        guard audio.channels == channels || audio.channels == 1 || (audio.channels == 2 && channels == 1) else {
            throw StableAudioPipelineError.invalidRequest(
                "the initial audio has \(audio.channels) channels; this model takes mono or \(channels)")
        }
        guard audio.samples.count % audio.channels == 0 else {
            throw StableAudioPipelineError.invalidRequest(
                "the initial audio's \(audio.samples.count) samples are not \(audio.channels) whole channels")
        }
        guard audio.samples.allSatisfy(\.isFinite) else {
            throw StableAudioPipelineError.invalidRequest("the initial audio has samples that are not finite")
        }
    }

    /// `model_max_length` of a `tokenizer_config.json`, when it has a sensible one.
    static func modelMaxLength(_ url: URL) -> Int? {
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let number = object["model_max_length"] as? NSNumber
        else { return nil }
        let value = number.doubleValue
        return value >= 2 && value <= 4096 ? Int(value) : nil
    }
}

/// How a Stable Audio model is sampled, from its diffusion objective.
public enum StableAudioSampling: String, Sendable, Equatable {
    /// v-prediction (Stable Audio Open 1.0): diffusers' `CosineDPMSolverMultistepScheduler`.
    case cosineDPM = "cosine-dpm"
    /// A distilled rectified-flow model (`rf_denoiser`, Stable Audio Open Small): `PingPongFlowSampler`.
    case pingPong = "pingpong"
}

/// Why a Stable Audio pipeline could not be built or run.
public enum StableAudioPipelineError: Error, Equatable, CustomStringConvertible {
    case missingPart(folder: String, part: String)
    case mismatchedParts(folder: String, reason: String)
    case invalidRequest(String)
    case nonFinite(count: Int, total: Int)

    public var description: String {
        switch self {
        case .missingPart(let folder, let part):
            return "\(folder): no \(part)/ in this Stable Audio folder"
        case .mismatchedParts(let folder, let reason):
            return "\(folder): \(reason)"
        case .invalidRequest(let reason):
            return "Stable Audio: \(reason)"
        case .nonFinite(let count, let total):
            return "Stable Audio: \(count) of \(total) latents are not finite; the weights or settings are broken"
        }
    }
}
