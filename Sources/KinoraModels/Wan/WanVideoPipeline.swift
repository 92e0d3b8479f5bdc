import Foundation
import KinoraGPU
import KinoraTensor

/// Wan text-to-video as diffusers 0.42.1's `WanPipeline.__call__`: the cleaned prompt and negative prompt encoded by
/// UMT5 (trimmed and zero-padded to `max_sequence_length`), seeded initial latents drawn as torch's CPU generator
/// draws them, the flow sampler's steps over the transformer with classifier-free guidance, then the latents
/// un-normalised and decoded one latent frame at a time, each call's frames handed on at once so the caller never
/// holds the clip. Given a keyframe, Wan 2.2 TI2V's image-to-video as diffusers' `WanImageToVideoPipeline` with
/// `expand_timesteps` (no image encoder): the image's latent is the first latent frame, kept at t = 0.
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
        /// In a batched denoise that runs its clips one by one (`denoise(_:conditioning:clips:progress:)`), the index
        /// of the clip this step is of; nil when the step is of every clip.
        public var clip: Int? = nil
    }

    /// The encoded prompts of one generation, [1, max_sequence_length, d_model] each, or of a batch of clips
    /// denoised together, [B, max_sequence_length, d_model] (`init(stacking:)`), clip b's in row b.
    public struct Conditioning {
        public var prompt: Tensor
        /// nil without guidance.
        public var negative: Tensor?

        public init(prompt: Tensor, negative: Tensor?) {
            self.prompt = prompt
            self.negative = negative
        }
    }

    public let tokenizer: T5Tokenizer
    public let textEncoder: UMT5EncoderModel
    public let transformer: WanTransformer3DModel
    public let vae: AutoencoderKLWan
    /// The scheduler's `scheduler_config.json`; `WanVideoSettings.sampler` picks the class. A caller that runs
    /// generations of other flow shifts on one pipeline (the render chain's shots) sets its shift before each.
    public var scheduler: SchedulerConfiguration
    /// Whether the model was trained with per-token timesteps (Wan 2.2 TI2V's `expand_timesteps`), which
    /// image-to-video needs: the keyframe's tokens at t = 0, the others at the step's t.
    public let expandTimesteps: Bool
    public let arena: ActivationArena
    /// The activation type UMT5, the transformer and the VAE run in (`--precision`); nil runs UMT5 and the
    /// transformer in their weights' type, as diffusers' `torch_dtype`, and the VAE in f32, as diffusers documents
    /// it for Wan (`AutoencoderKLWan.activationType`). The scheduler's latents stay f32 on the host between steps.
    public var precision: ActivationPrecision?

    /// Checks that the components fit together: the text encoder's width is the transformer's `text_dim`, the
    /// transformer's channels the VAE's `z_dim`.
    public init(
        tokenizer: T5Tokenizer, textEncoder: UMT5EncoderModel, transformer: WanTransformer3DModel,
        vae: AutoencoderKLWan, scheduler: SchedulerConfiguration, expandTimesteps: Bool = false
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
        self.expandTimesteps = expandTimesteps
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

    /// Checks a keyframe against the request and the model: a model with per-token timesteps, the video's aspect
    /// ratio and size, and finite values in [0, 1].
    public func validate(_ image: WanVideoImage, for settings: WanVideoSettings) throws {
        guard expandTimesteps else { throw WanVideoPipelineError.imageNeedsPerTokenTimesteps }
        let (width, height) = (settings.width, settings.height)
        guard image.width > 0, image.height > 0 else {
            throw WanVideoPipelineError.invalidImage(reason: "size \(image.width)x\(image.height)")
        }
        guard image.width * height == image.height * width else {
            throw WanVideoPipelineError.imageAspectRatio(
                imageWidth: image.width, imageHeight: image.height, width: width, height: height)
        }
        guard image.width == width, image.height == height else {
            throw WanVideoPipelineError.imageSize(
                imageWidth: image.width, imageHeight: image.height, width: width, height: height)
        }
        guard image.rgb.count == width * height * 3 else {
            throw WanVideoPipelineError.invalidImage(
                reason: "\(image.rgb.count) values for \(width)x\(height) RGB (\(width * height * 3))")
        }
        if let index = image.rgb.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw WanVideoPipelineError.invalidImage(reason: "value \(index) is \(image.rgb[index]), outside [0, 1]")
        }
    }

    /// Runs the whole generation: `frames` receives the video one latent frame's worth at a time (1 frame, then 4
    /// per call for Wan's VAEs), `progress` each denoising step. With `image`, Wan 2.2 TI2V's image-to-video: the
    /// keyframe's latent is the first latent frame, held at t = 0.
    public func generate(
        _ settings: WanVideoSettings, image: WanVideoImage? = nil, progress: (Progress) -> Void = { _ in },
        frames: (WanVideoFrames) throws -> Void
    ) throws {
        let shape = try latentShape(settings)
        if let image { try validate(image, for: settings) }
        let conditioning = try encodePrompts(settings)
        let condition = try image.map { try imageCondition($0, settings: settings) }
        let latents = try denoise(
            settings, conditioning: conditioning, imageCondition: condition, progress: progress)
        releaseDenoisingWeights()
        try decode(latents, shape: shape, tiles: decodeTiles(shape: shape, tiling: settings.vaeTiling), frames: frames)
    }

    /// Drops the text encoder's and the transformer's uploaded weights (resident passes keep theirs), so the decode
    /// has the device to itself; a later pass uploads them again.
    public func releaseDenoisingWeights() {
        releaseTextEncoderWeights()
        releaseTransformerWeights()
    }

    /// Drops the text encoder's uploaded weights (a chain that has encoded every prompt).
    public func releaseTextEncoderWeights() {
        textEncoder.weights.evict(textEncoder.weights.uploadedNames)
    }

    /// Drops the transformer's uploaded weights (a chain that has denoised every clip).
    public func releaseTransformerWeights() {
        transformer.weights.evict(transformer.weights.uploadedNames)
    }

    /// Drops the VAE's uploaded weights (a chain that has decoded every clip).
    public func releaseVAEWeights() {
        vae.weights.evict(vae.weights.uploadedNames)
    }

    /// The tiles the decode of latents `shape` [1, z_dim, T, h, w] uses: none with `.off`; diffusers' with `.on`
    /// (none when a frame is not larger than one tile); with `.auto`, none when a whole frame's call fits `budget`
    /// (default: the memory left beside what is on the device, the VAE's weights uploaded), else the largest tiles
    /// that fit (`AutoencoderKLWan.streamingTiles`, which throws when none does).
    public func decodeTiles(shape: [Int], tiling: AutoencoderKL.Tiling, budget: UInt64? = nil) throws
        -> AutoencoderKLWan.TileConfiguration?
    {
        guard shape.count == 5 else { return nil }
        switch tiling {
        case .off:
            return nil
        case .on:
            let tiles = AutoencoderKLWan.TileConfiguration()
            return vae.decodeUsesTiles(latentHeight: shape[3], latentWidth: shape[4], tiles: tiles) ? tiles : nil
        case .auto:
            return try vae.streamingTiles(
                latentHeight: shape[3], latentWidth: shape[4], budget: budget, cacheType: decoderCacheType,
                precision: precision)
        }
    }

    /// The keyframe's latent [1, z_dim, 1, h, w] as TI2V's `prepare_latents` makes it: the image scaled to [−1, 1]
    /// (`2x − 1`), encoded by the VAE as a one-frame video, its mean taken (`sample_mode="argmax"`) and normalised
    /// with latents_mean / latents_std.
    public func imageCondition(_ image: WanVideoImage, settings: WanVideoSettings) throws -> [Float] {
        _ = try latentShape(settings)
        try validate(image, for: settings)
        return try keyframeLatent(image)
    }

    /// A picture's normalised VAE latent [1, z_dim, 1, h, w]: scaled to [−1, 1], encoded as a one-frame video, its
    /// mean taken and normalised with latents_mean / latents_std (the start of an autoregressive stream, or TI2V's
    /// condition). Its size must be the video's; `imageCondition` checks it against a request.
    public func keyframeLatent(_ image: WanVideoImage) throws -> [Float] {
        let plane = image.width * image.height
        var video = [Float](repeating: 0, count: 3 * plane)
        for pixel in 0..<plane {
            for channel in 0..<3 {
                video[channel * plane + pixel] = 2 * image.rgb[pixel * 3 + channel] - 1
            }
        }
        defer { arena.trim() }
        let graph = Graph(arena: arena)
        graph.activationDType = vae.activationType(precision)
        let mean = try vae.encode(graph, graph.input(video, shape: [1, 3, 1, image.height, image.width])).mean
        return try graph.run([vae.normalizeLatents(graph, mean)])[0].floats()
    }

    /// `encode_prompt`: the prompt and (with guidance) the negative prompt, each cleaned (`prompt_clean`),
    /// tokenized to `maxSequenceLength` and encoded into Wan's zero-padded embeddings.
    public func encodePrompts(_ settings: WanVideoSettings) throws -> Conditioning {
        _ = try latentShape(settings)
        func embeds(_ text: String) throws -> Tensor {
            let encoding = tokenizer.encode(WanPromptCleaner.clean(text), maximumLength: settings.maxSequenceLength)
            return try textEncoder.wanPromptEmbeds(
                inputIDs: [encoding.ids], attentionMask: [encoding.attentionMask],
                maxSequenceLength: settings.maxSequenceLength, arena: arena, streamed: settings.streamedTextEncoder,
                precision: precision)
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

    /// The denoising loop of one clip: per timestep the transformer on the latents with the prompt (and the negative
    /// prompt, combined as `uncond + scale · (cond − uncond)`), then the sampler's step. Returns the final latents
    /// [1, z_dim, T, h, w], still normalised. It is `denoise(_:conditioning:clips:progress:)` with one clip.
    ///
    /// With `imageCondition` (`imageCondition(_:settings:)`), Wan 2.2 TI2V's `expand_timesteps` path: the
    /// transformer sees the latents with their first frame replaced by the image's (diffusers' `(1 − mask) ·
    /// condition + mask · latents`), its tokens at t = 0 and the rest at the step's t; the sampler steps the latents
    /// as they are, and the result's first frame is the image's.
    public func denoise(
        _ settings: WanVideoSettings, conditioning: Conditioning, imageCondition: [Float]? = nil,
        progress: (Progress) -> Void = { _ in }
    ) throws -> [Float] {
        try denoise(
            settings, conditioning: conditioning, clips: [Clip(seed: settings.seed, imageCondition: imageCondition)],
            progress: progress)[0]
    }

    /// `latents` [1, C, T, h, w] with latent frame 0 replaced by `frame` [1, C, 1, h, w].
    static func replacingFirstFrame(_ latents: [Float], with frame: [Float], shape: [Int]) -> [Float] {
        let (channels, count, plane) = (shape[1], shape[2], shape[3] * shape[4])
        var result = latents
        for channel in 0..<channels {
            let target = channel * count * plane
            result.replaceSubrange(target..<(target + plane), with: frame[(channel * plane)..<((channel + 1) * plane)])
        }
        return result
    }

    /// One transformer pass.
    func predict(_ latents: Tensor, timestep: WanTimesteps, text: Tensor, streamed: Bool) throws -> [Float] {
        defer { arena.trim() }
        if streamed {
            let inputs = WanTransformerStreamedInputs(
                hiddenStates: latents, timestep: timestep, encoderHiddenStates: text)
            return try transformer.streamedPrediction(inputs, arena: arena, precision: precision).floats()
        }
        let graph = Graph(arena: arena)
        graph.activationDType = transformer.activationType(precision)
        let output = try transformer(
            graph, hiddenStates: graph.input(latents), timestep: timestep, encoderHiddenStates: graph.input(text))
        return try graph.run([output])[0].floats()
    }

    /// How a clip's decode stores the feature cache: in the VAE's activation type (f32 for an f32 decode, as
    /// diffusers).
    public var decoderCacheType: DType { vae.activationType(precision) }

    /// The latents [1, z_dim, T, h, w] un-normalised (`latents / (1 / latents_std) + latents_mean`) and decoded by
    /// the streaming decoder one latent frame per call (each frame in `tiles` when given); each call's frames go to
    /// `frames` as RGB in [0, 1].
    public func decode(
        _ latents: [Float], shape: [Int], tiles: AutoencoderKLWan.TileConfiguration? = nil,
        frames: (WanVideoFrames) throws -> Void
    ) throws {
        try WanLatentStream(
            vae: vae, arena: arena, tiles: tiles, cacheType: decoderCacheType, precision: precision
        ).decode(latents, shape: shape, frames: frames)
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
