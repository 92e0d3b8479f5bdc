import Foundation
import KinoraGPU
import KinoraTensor

/// Wan text-to-video as diffusers 0.42.1's `WanPipeline.__call__`: the cleaned prompt and negative prompt encoded by
/// UMT5 (trimmed and zero-padded to `max_sequence_length`), seeded initial latents drawn as torch's CPU generator
/// draws them, the flow sampler's steps over the transformer with classifier-free guidance, then the latents
/// un-normalised and decoded one latent frame at a time, each call's frames handed on at once so the caller never
/// holds the clip.
///
/// The stages are public on their own (`encodePrompts`, `denoise`, `decode`) so a chain can run them apart.
public final class WanVideoPipeline {
    /// Where the denoising loop is.
    public struct Progress: Sendable, Equatable {
        /// Steps done, 1 after the first.
        public var step: Int
        public var steps: Int
        /// The timestep of the step just done.
        public var timestep: Float
    }

    /// The encoded prompts of one generation: [1, max_sequence_length, d_model] each.
    public struct Conditioning {
        public var prompt: Tensor
        /// nil without guidance.
        public var negative: Tensor?
    }

    public let tokenizer: T5Tokenizer
    public let textEncoder: UMT5EncoderModel
    public let transformer: WanTransformer3DModel
    public let vae: AutoencoderKLWan
    /// The scheduler's `scheduler_config.json`; `WanVideoSettings.sampler` picks the class.
    public let scheduler: SchedulerConfiguration
    public let arena: ActivationArena

    /// Checks that the components fit together: the text encoder's width is the transformer's `text_dim`, the
    /// transformer's channels the VAE's `z_dim`.
    public init(
        tokenizer: T5Tokenizer, textEncoder: UMT5EncoderModel, transformer: WanTransformer3DModel,
        vae: AutoencoderKLWan, scheduler: SchedulerConfiguration
    ) throws {
        let text = textEncoder.configuration.dModel
        let dit = transformer.configuration
        let zDim = vae.configuration.zDim
        guard dit.textDim == text else {
            throw WanVideoPipelineError.mismatchedComponents(
                reason: "the text encoder's d_model is \(text) but the transformer's text_dim is \(dit.textDim)")
        }
        guard dit.inChannels == zDim, dit.outChannels == zDim else {
            throw WanVideoPipelineError.mismatchedComponents(
                reason: "the transformer has \(dit.inChannels) in / \(dit.outChannels) out channels but the VAE's "
                    + "z_dim is \(zDim)")
        }
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.transformer = transformer
        self.vae = vae
        self.scheduler = scheduler
        arena = ActivationArena(device: transformer.weights.device)
    }

    /// The multiple both sides must be: the VAE's spatial stride times the transformer's patch (16 for Wan 2.1,
    /// 32 for Wan 2.2's 5B).
    public var sizeMultiple: Int {
        let patch = transformer.configuration.patchSize
        return vae.configuration.spatialCompression * max(patch[1], patch[2])
    }

    /// The initial latents' shape [1, z_dim, (F − 1) / 4 + 1, H / s, W / s] for `settings`, after checking them:
    /// every request the pipeline refuses is refused here, before any work, with the value at fault.
    public func latentShape(_ settings: WanVideoSettings) throws -> [Int] {
        let temporal = vae.configuration.temporalCompression
        guard settings.frames >= 1, (settings.frames - 1) % temporal == 0 else {
            throw WanVideoPipelineError.invalidFrameCount(frames: settings.frames, temporalCompression: temporal)
        }
        let multiple = sizeMultiple
        guard settings.width > 0, settings.height > 0, settings.width % multiple == 0,
            settings.height % multiple == 0
        else {
            throw WanVideoPipelineError.invalidSize(width: settings.width, height: settings.height, multiple: multiple)
        }
        guard settings.steps >= 1 else { throw WanVideoPipelineError.invalidSteps(settings.steps) }
        guard settings.guidanceScale.isFinite else {
            throw WanVideoPipelineError.invalidGuidance(settings.guidanceScale)
        }
        guard settings.maxSequenceLength >= 1 else {
            throw WanVideoPipelineError.invalidSequenceLength(settings.maxSequenceLength)
        }
        let spatial = vae.configuration.spatialCompression
        return [
            1, vae.configuration.zDim, (settings.frames - 1) / temporal + 1, settings.height / spatial,
            settings.width / spatial,
        ]
    }

    /// Runs the whole generation: `frames` receives the video one latent frame's worth at a time (1 frame, then 4
    /// per call for Wan's VAEs), `progress` each denoising step.
    public func generate(
        _ settings: WanVideoSettings, progress: (Progress) -> Void = { _ in },
        frames: (WanVideoFrames) throws -> Void
    ) throws {
        let shape = try latentShape(settings)
        let conditioning = try encodePrompts(settings)
        let latents = try denoise(settings, conditioning: conditioning, progress: progress)
        try decode(latents, shape: shape, frames: frames)
    }

    /// `encode_prompt`: the prompt and (with guidance) the negative prompt, each cleaned (`prompt_clean`),
    /// tokenized to `maxSequenceLength` and encoded into Wan's zero-padded embeddings.
    public func encodePrompts(_ settings: WanVideoSettings) throws -> Conditioning {
        _ = try latentShape(settings)
        func embeds(_ text: String) throws -> Tensor {
            let encoding = tokenizer.encode(WanPromptCleaner.clean(text), maximumLength: settings.maxSequenceLength)
            return try textEncoder.wanPromptEmbeds(
                inputIDs: [encoding.ids], attentionMask: [encoding.attentionMask],
                maxSequenceLength: settings.maxSequenceLength, arena: arena, streamed: settings.streamedWeights)
        }
        return Conditioning(
            prompt: try embeds(settings.prompt),
            negative: settings.usesGuidance ? try embeds(settings.negativePrompt) : nil)
    }

    /// The initial latents of `prepare_latents`: `randn_tensor` of the latent shape from torch's CPU generator
    /// seeded with `settings.seed`.
    public func initialLatents(_ settings: WanVideoSettings) throws -> [Float] {
        let count = try latentShape(settings).reduce(1, *)
        var random = TorchRandom(seed: settings.seed)
        return random.normal(count: count)
    }

    /// The denoising loop: per timestep the transformer on the latents with the prompt (and the negative prompt,
    /// combined as `uncond + scale · (cond − uncond)`), then the sampler's step. Returns the final latents
    /// [1, z_dim, T, h, w], still normalised.
    public func denoise(
        _ settings: WanVideoSettings, conditioning: Conditioning, progress: (Progress) -> Void = { _ in }
    ) throws -> [Float] {
        let shape = try latentShape(settings)
        guard settings.usesGuidance == (conditioning.negative != nil) else {
            throw WanVideoPipelineError.mismatchedComponents(
                reason: "guidance scale \(settings.guidanceScale) "
                    + (settings.usesGuidance ? "needs a negative prompt's embeddings" : "takes no negative prompt"))
        }
        var sampler = try settings.sampler.make(configuration: scheduler, steps: settings.steps)
        var random = TorchRandom(seed: settings.seed)
        var latents = random.normal(count: shape.reduce(1, *))
        let steps = sampler.timesteps.count
        while let t = sampler.currentTimestep {
            let input = try Tensor(latents, shape: shape, on: arena.device)
            let conditional = try predict(input, t: t, text: conditioning.prompt, streamed: settings.streamedWeights)
            var prediction = conditional
            if let negative = conditioning.negative {
                let unconditional = try predict(input, t: t, text: negative, streamed: settings.streamedWeights)
                prediction = classifierFreeGuidance(
                    unconditional: unconditional, conditional: conditional, scale: settings.guidanceScale)
            }
            latents = try sampler.step(prediction, sample: latents, noise: &random).sample
            progress(Progress(step: sampler.stepIndex, steps: steps, timestep: t))
        }
        return latents
    }

    /// One transformer pass at timestep `t` (one per sample, as `t.expand(batch)`).
    private func predict(_ latents: Tensor, t: Float, text: Tensor, streamed: Bool) throws -> [Float] {
        defer { arena.trim() }
        if streamed {
            let inputs = WanTransformerStreamedInputs(
                hiddenStates: latents, timestep: .perSample([t]), encoderHiddenStates: text)
            return try transformer.streamedPrediction(inputs, arena: arena).floats()
        }
        let graph = Graph(arena: arena)
        let output = try transformer(
            graph, hiddenStates: graph.input(latents), timestep: .perSample([t]),
            encoderHiddenStates: graph.input(text))
        return try graph.run([output])[0].floats()
    }

    /// The latents [1, z_dim, T, h, w] un-normalised (`latents / (1 / latents_std) + latents_mean`) and decoded by
    /// the streaming decoder one latent frame per call; each call's frames go to `frames` as RGB in [0, 1].
    public func decode(_ latents: [Float], shape: [Int], frames: (WanVideoFrames) throws -> Void) throws {
        guard shape.count == 5, shape[0] == 1, shape.reduce(1, *) == latents.count else {
            throw AutoencoderKLWanError.invalidInput(
                operation: "Wan video decode", shape: shape,
                reason: "expected \(latents.count) latents as [1, \(vae.configuration.zDim), frames, height, width]")
        }
        let graph = Graph(arena: arena)
        let denormalized = try graph.run([
            vae.denormalizeLatents(graph, graph.input(latents, shape: shape))
        ])[0].floats()
        arena.trim()
        let (channels, count, plane) = (shape[1], shape[2], shape[3] * shape[4])
        let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena)
        var start = 0
        for frame in 0..<count {
            var slice: [Float] = []
            slice.reserveCapacity(channels * plane)
            for channel in 0..<channels {
                let offset = (channel * count + frame) * plane
                slice += denormalized[offset..<(offset + plane)]
            }
            let video = try decoder.decode(
                Tensor(slice, shape: [1, channels, 1, shape[3], shape[4]], on: arena.device))
            let chunk = try Self.rgbFrames(video.floats(), shape: video.shape, start: start)
            arena.trim()
            try frames(chunk)
            start += chunk.count
        }
    }

    /// Decoded video [1, 3, F, H, W] in [−1, 1] → frames [F, H, W, 3] of `(x / 2 + 0.5).clamp(0, 1)`.
    static func rgbFrames(_ values: [Float], shape: [Int], start: Int) throws -> WanVideoFrames {
        let (count, height, width) = (shape[2], shape[3], shape[4])
        let plane = height * width
        var rgb = [Float](repeating: 0, count: count * plane * 3)
        for channel in 0..<3 {
            for frame in 0..<count {
                let source = (channel * count + frame) * plane
                for pixel in 0..<plane {
                    rgb[(frame * plane + pixel) * 3 + channel] = min(max(values[source + pixel] / 2 + 0.5, 0), 1)
                }
            }
        }
        return WanVideoFrames(start: start, count: count, width: width, height: height, rgb: rgb)
    }
}
