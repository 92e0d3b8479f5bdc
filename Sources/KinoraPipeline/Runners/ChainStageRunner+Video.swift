import Foundation
import KinoraGPU
import KinoraMedia
import KinoraModels
import KinoraTensor

/// The video stages of a `motion: video` shot, run by a Wan pipeline (`WanVideoPipeline`) opened once per model
/// folder: each stage is one of the pipeline's own public steps, as `kinora video` runs them, reading what the stage
/// before it stored.
///
/// Results on disk: `encode-text` writes UMT5's padded prompt embeddings (`prompt.kf32`, [1, 512, d_model], and with
/// guidance `negative.kf32`); `encode-keyframe` the keyframe picture's normalised VAE latent (`keyframe.kf32`,
/// [1, z_dim, 1, h, w]); `denoise` the clip's final latents (`latents.kf32`, [1, z_dim, T, h, w]); `decode` the clip
/// at the model's size, frame count and frame rate (`clip.mkv`, FFV1, lossless 8-bit RGB), written as the streaming
/// decoder hands on each latent frame's frames, so no clip is held; `conform` the shot's frames (`frames.mkv`).
extension ChainStageRunner {
    /// A Wan pipeline and the components of it that are loaded.
    struct OpenVideoPipeline {
        var pipeline: WanVideoPipeline
        var roles: Set<ComponentRole>
    }

    /// Where the video pipeline of the folder at `url` (or of the single transformer file there with its `base`) run
    /// in `precision` is kept in `videoPipelines`: the same weights in another precision never share a pipeline.
    static func videoPipelineKey(_ url: URL, base: URL?, precision: ActivationPrecision?) -> String {
        url.path + (base.map { "\u{1F}" + $0.path } ?? "") + (precision.map { "\u{1F}precision \($0.rawValue)" } ?? "")
    }

    /// Opens the video model folder at `url`, or the single transformer file there with the other parts of the
    /// diffusers folder `base` (memory-mapped; weights upload on first use), with the `role` loaded, its activations
    /// in `precision` (the model's `precision:`; nil: the weights' type, the VAE f32), as `kinora video --precision`.
    func loadVideo(_ url: URL, base: URL?, role: ComponentRole, precision: ActivationPrecision?) throws {
        let key = Self.videoPipelineKey(url, base: base, precision: precision)
        var open = try videoPipelines[key] ?? {
            let components = try base.map { try WanVideoComponents(transformerFile: url, base: $0) }
                ?? WanVideoComponents(folder: url)
            let pipeline = try components.load(device: device)
            pipeline.precision = precision
            return OpenVideoPipeline(pipeline: pipeline, roles: [])
        }()
        open.roles.insert(role)
        videoPipelines[key] = open
    }

    /// Frees the device weights of `role`'s component of the video pipeline at `url` (with `base`) in `precision`;
    /// drops the pipeline when none of its components is loaded any more. Returns false when no video pipeline is
    /// open there.
    func evictVideo(_ url: URL, base: URL?, role: ComponentRole, precision: ActivationPrecision?) -> Bool {
        let key = Self.videoPipelineKey(url, base: base, precision: precision)
        guard var open = videoPipelines[key] else { return false }
        let pipeline = open.pipeline
        switch role {
        case .textEncoder: pipeline.releaseTextEncoderWeights()
        case .denoiser:
            liveStream = nil
            pipeline.releaseTransformerWeights()
        case .decoder: pipeline.releaseVAEWeights()
        case .voice, .music, .upscaler, .interpolator: break
        }
        pipeline.arena.trim()
        open.roles.remove(role)
        videoPipelines[key] = open.roles.isEmpty ? nil : open
        return true
    }

    /// The open video pipeline `model` belongs to, or nil when `model` is not a video model.
    func videoPipeline(for model: (any StageModel)?) -> WanVideoPipeline? {
        guard let model, videoModels.contains(model.identity.key), let url = locations[model.identity.key] else {
            return nil
        }
        let key = Self.videoPipelineKey(url, base: videoBases[model.identity.key],
                                        precision: model.identity.activationPrecision)
        return videoPipelines[key]?.pipeline
    }

    /// Runs one stage of a video shot on `pipeline`.
    func runVideo(_ stage: Stage, pipeline: WanVideoPipeline, model: (any StageModel)?, tactic: Tactic?,
                  inputs: [String: URL], into folder: URL, progress: @escaping (Int) -> Void) throws {
        let input = { (index: Int) throws -> URL in
            guard stage.inputs.indices.contains(index), let url = inputs[stage.inputs[index]] else {
                throw RunnerError.missingInput(stage: stage.id, file: "input \(index + 1)")
            }
            return url
        }
        switch stage.kind {
        case .encodeText:
            try encodeVideoText(stage, pipeline: pipeline, model: model, tactic: tactic, into: folder)
            progress(1)
        case .encodeImage:
            try encodeKeyframe(stage, pipeline: pipeline, model: model, picture: input(0), into: folder)
            progress(1)
        case .denoise where stage.parameters.int("chunk") != nil:
            try makeStreamChunk(stage, pipeline: pipeline, model: model, input: input, into: folder,
                                progress: progress)
        case .decode where stage.parameters.bool("stream") == true:
            try decodeStream(stage, pipeline: pipeline, model: model, inputs: stage.inputs.indices.map(input),
                             into: folder, progress: progress)
        case .denoise:
            try denoiseVideos([stage], pipeline: pipeline, model: model, tactic: tactic, inputs: inputs,
                              outputs: [stage.id: folder]) { progress($1) }
        case .decode:
            try decodeVideo(stage, pipeline: pipeline, model: model, latents: input(0), into: folder,
                            progress: progress)
        default:
            throw RunnerError.unsupported(stage: stage.id, reason: "a video model runs no \(stage.kind.rawValue) stage")
        }
    }

    /// The settings of a video stage as the pipeline takes them; what the stage does not give keeps a value every
    /// Wan model accepts (the pipeline checks the request on each call).
    private func videoSettings(_ stage: Stage, tactic: Tactic?) throws -> WanVideoSettings {
        let parameters = stage.parameters
        var settings = WanVideoSettings(prompt: parameters.string("prompt") ?? "",
                                        negativePrompt: parameters.string("negative") ?? "")
        if let width = parameters.int("width"), let height = parameters.int("height") {
            (settings.width, settings.height) = (width, height)
        }
        if let frames = parameters.int("frames") { settings.frames = frames }
        if let steps = parameters.int("steps") { settings.steps = steps }
        if let cfg = parameters.number("cfg") { settings.guidanceScale = Float(cfg) }
        if let guidance = parameters.bool("guidance") { settings.guidanceScale = guidance ? 2 : 1 }
        settings.seed = stage.seed ?? 0
        if let name = parameters.string("sampler") {
            guard let sampler = FlowSamplerKind(rawValue: name) else {
                throw RunnerError.unsupported(stage: stage.id, reason: "unknown video sampler '\(name)'")
            }
            settings.sampler = sampler
        }
        let streamed = tactic?.streamedWeights == true
        (settings.streamedTextEncoder, settings.streamedTransformer) = (streamed, streamed)
        return settings
    }

    private func encodeVideoText(_ stage: Stage, pipeline: WanVideoPipeline, model: (any StageModel)?,
                                 tactic: Tactic?, into folder: URL) throws {
        let conditioning = try pipeline.encodePrompts(videoSettings(stage, tactic: tactic))
        for (name, tensor) in [("prompt", conditioning.prompt), ("negative", conditioning.negative)] {
            guard let tensor else { continue }
            let values = try tensor.floats()
            try requireFinite(values, "\(name) embeddings", of: stage, model: model)
            try FloatArrayFile.write(values, shape: tensor.shape, to: folder.appendingPathComponent(name + ".kf32"))
        }
    }

    private func encodeKeyframe(_ stage: Stage, pipeline: WanVideoPipeline, model: (any StageModel)?,
                                picture: URL, into folder: URL) throws {
        let (planar, shape) = try readFinite("image.kf32", in: picture, for: stage)
        guard shape.count == 3, shape[0] == 3 else {
            throw RunnerError.unsupported(stage: stage.id,
                                          reason: "expected a [3, height, width] picture, got \(shape)")
        }
        let (height, width) = (shape[1], shape[2])
        let plane = width * height
        var rgb = [Float](repeating: 0, count: 3 * plane)
        for pixel in 0..<plane {
            for channel in 0..<3 { rgb[3 * pixel + channel] = min(max(planar[channel * plane + pixel], 0), 1) }
        }
        let image = WanVideoImage(width: width, height: height, rgb: rgb)
        // A stream starts from the picture's latent with any Wan; a clip needs an image-to-video model.
        let latent = try stage.parameters.bool("stream") == true
            ? pipeline.keyframeLatent(image)
            : pipeline.imageCondition(image, settings: videoSettings(stage, tactic: nil))
        try requireFinite(latent, "keyframe latent", of: stage, model: model)
        let vae = pipeline.vae.configuration
        let spatial = vae.spatialCompression
        try FloatArrayFile.write(latent, shape: [1, vae.zDim, 1, height / spatial, width / spatial],
                                 to: folder.appendingPathComponent("keyframe.kf32"))
    }

    /// Clip denoise stages of one batch signature (same model, size, frames, steps, sampler, shift, guidance and
    /// keyframe or not) as one batched sampling loop (`WanVideoPipeline.denoise(_:conditioning:clips:progress:)`, a
    /// single stage on its own): each stage's prompt embeddings (and its keyframe's latent) from its inputs, its own
    /// seed, and its latents written into its own folder, bit for bit those of its denoise alone.
    func denoiseVideos(_ stages: [Stage], pipeline: WanVideoPipeline, model: (any StageModel)?, tactic: Tactic?,
                       inputs: [String: URL], outputs: [String: URL], progress: (String, Int) -> Void) throws {
        let settings = try videoSettings(stages[0], tactic: tactic)
        let shape = try pipeline.latentShape(settings)
        let shift = try number(stages[0], "shift")
        pipeline.scheduler.flowShift = shift
        pipeline.scheduler.shift = shift
        var prompts = StackedEmbeddings(), negatives = StackedEmbeddings()
        var clips: [WanVideoPipeline.Clip] = []
        for stage in stages {
            var own = try videoSettings(stage, tactic: tactic)
            own.seed = settings.seed
            guard own == settings, try number(stage, "shift") == shift else {
                throw RunnerError.unsupported(stage: stage.id, reason: "its clip's settings differ from those of "
                                              + "\(stages[0].id), so it cannot be denoised in one batch with it")
            }
            guard let textStage = stage.inputs.first, let text = inputs[textStage] else {
                throw RunnerError.missingInput(stage: stage.id, file: "input 1")
            }
            try prompts.append(readFinite("prompt.kf32", in: text, for: stage), of: stage,
                               file: text.appendingPathComponent("prompt.kf32"))
            if settings.usesGuidance {
                try negatives.append(readFinite("negative.kf32", in: text, for: stage), of: stage,
                                     file: text.appendingPathComponent("negative.kf32"))
            }
            var condition: [Float]?
            if stage.inputs.count > 1 {
                guard let keyframe = inputs[stage.inputs[1]] else {
                    throw RunnerError.missingInput(stage: stage.id, file: "input 2")
                }
                guard pipeline.expandTimesteps else {
                    throw RunnerError.unsupported(stage: stage.id, reason: "the video model takes no keyframe")
                }
                condition = try readFinite("keyframe.kf32", in: keyframe, for: stage).values
            }
            clips.append(WanVideoPipeline.Clip(seed: stage.seed ?? 0, imageCondition: condition))
        }
        let conditioning = WanVideoPipeline.Conditioning(
            prompt: try prompts.tensor(on: device),
            negative: settings.usesGuidance ? try negatives.tensor(on: device) : nil)
        let latents = try pipeline.denoise(settings, conditioning: conditioning, clips: clips) { step in
            Self.report(step.step, of: step.clip, in: stages, to: progress)
        }
        for (stage, values) in zip(stages, latents) {
            guard let folder = outputs[stage.id] else {
                throw RunnerError.missingInput(stage: stage.id, file: "its output folder")
            }
            try requireFinite(values, "latents", of: stage, model: model)
            try FloatArrayFile.write(values, shape: shape, to: folder.appendingPathComponent("latents.kf32"))
        }
    }

    /// Prompt embeddings of several clips read from their text stages' results, [1, L, d_model] each, stacked on the
    /// host into one [B, L, d_model] upload.
    struct StackedEmbeddings {
        var values: [Float] = []
        /// [1, L, d_model] of the first clip's; nil before it.
        var shape: [Int]?
        var rows = 0

        /// Appends `stage`'s embeddings, read from `file`; they must have the others' shape.
        mutating func append(_ read: (values: [Float], shape: [Int]), of stage: Stage, file: URL) throws {
            guard read.shape.count == 3, read.shape[0] == 1, shape.map({ $0 == read.shape }) ?? true else {
                throw RunnerError.invalidInput(
                    stage: stage.id, file: file.path,
                    reason: "prompt embeddings of shape \(read.shape), not [1, L, d_model]"
                        + (shape.map { " like the batch's \($0)" } ?? ""))
            }
            shape = read.shape
            values += read.values
            rows += 1
        }

        /// The [B, L, d_model] embeddings on `device`.
        func tensor(on device: GPUDevice) throws -> Tensor {
            try Tensor(values, shape: [rows] + (shape ?? [1, 0, 0]).dropFirst(), on: device)
        }
    }

    private func decodeVideo(_ stage: Stage, pipeline: WanVideoPipeline, model: (any StageModel)?, latents: URL,
                             into folder: URL, progress: (Int) -> Void) throws {
        let (values, shape) = try readFinite("latents.kf32", in: latents, for: stage)
        let fps = stage.parameters.number("fps") ?? 16
        let writer = try VideoWriter(
            url: folder.appendingPathComponent("clip.mkv"),
            settings: VideoSettings(codec: .ffv1, frameRate: FrameRate(parsing: YAMLField.format(fps))))
        let tiles = try pipeline.decodeTiles(shape: shape, tiling: .auto)
        try pipeline.decode(values, shape: shape, tiles: tiles) { chunk in
            try requireFinite(chunk.rgb, "frames", of: stage, model: model)
            let plane = chunk.width * chunk.height * 3
            for index in 0..<chunk.count {
                let values = Array(chunk.rgb[(index * plane)..<((index + 1) * plane)])
                try writer.append(frame: VideoFrame(width: chunk.width, height: chunk.height, rgbFloat: values))
            }
            progress(chunk.start + chunk.count)
        }
        try writer.finish()
    }

    /// The clip played at its own frame rate (`clip_fps`), sampled at the output's: output frame i shows the clip's
    /// frame at i / fps seconds (the last frame held when the clip is shorter than the shot), cut to the output's
    /// aspect ratio from the middle and scaled to its size as a still's frames are. Frames stream from file to file.
    func conform(_ stage: Stage, clip: URL, into folder: URL, progress: (Int) -> Void) throws {
        let count = try int(stage, "frames"), width = try int(stage, "width"), height = try int(stage, "height")
        let ratio = try number(stage, "clip_fps") / workflow.output.fps.value
        let reader = try VideoReader(url: file("clip.mkv", in: clip, for: stage))
        guard var current = try reader.nextFrame() else {
            throw RunnerError.invalidInput(stage: stage.id, file: clip.appendingPathComponent("clip.mkv").path,
                                           reason: "the clip has no frames")
        }
        var index = 0
        var frame = try Self.scaled(current, width: width, height: height)
        let writer = try VideoWriter(url: folder.appendingPathComponent("frames.mkv"),
                                     settings: VideoSettings(codec: .ffv1, frameRate: frameRate))
        for output in 0..<count {
            let wanted = Int((Double(output) * ratio + 1e-6).rounded(.down))
            var advanced = false
            while index < wanted, let next = try reader.nextFrame() {
                (current, index, advanced) = (next, index + 1, true)
            }
            if advanced { frame = try Self.scaled(current, width: width, height: height) }
            try writer.append(frame: frame)
            progress(output + 1)
        }
        try writer.finish()
    }

    /// `frame` cut to `width`:`height` from the middle and scaled to that size (bilinear), as `StillAnimator` shows
    /// a still without a camera move.
    static func scaled(_ frame: VideoFrame, width: Int, height: Int) throws -> VideoFrame {
        if frame.width == width, frame.height == height { return frame }
        let bytes = frame.rgb8
        let plane = frame.width * frame.height
        var planar = [Float](repeating: 0, count: 3 * plane)
        for pixel in 0..<plane {
            for channel in 0..<3 { planar[channel * plane + pixel] = Float(bytes[3 * pixel + channel]) / 255 }
        }
        let animator = try StillAnimator(image: planar, width: frame.width, height: frame.height, move: .none,
                                         outputWidth: width, outputHeight: height)
        return try VideoFrame(width: width, height: height, rgb8: animator.frame(0, of: 1))
    }
}
