import Foundation
import KinoraMedia
import KinoraModels

/// The image stages: text encoding, denoising and decoding with a Stable Diffusion pipeline, each a separate
/// pipeline call that reads what the stage before it stored.
///
/// Results on disk: `encode-text` writes the prompt's conditioning (`conditional.kf32`, [1, 77 · windows, width],
/// and for SDXL the pooled `conditional-pooled.kf32`) and, with guidance, the negative prompt's
/// (`unconditional.kf32`, `unconditional-pooled.kf32`); `denoise` writes the final latents (`latents.kf32`,
/// [1, channels, height / f, width / f]); `decode` writes the picture (`image.kf32`, RGB in [0, 1],
/// [3, height, width]) and a preview `image.png`. KF32 files read back bit for bit, so the staged render gives the
/// latents and picture of one whole generation.
extension ChainStageRunner {
    func encodeText(_ stage: Stage, pipeline: StableDiffusionPipeline, into folder: URL) throws {
        var settings = KinoraModels.GenerationSettings(prompt: try string(stage, "prompt"))
        settings.negativePrompt = try string(stage, "negative")
        settings.guidanceScale = Float(try number(stage, "cfg"))
        let conditioning = try pipeline.encodePrompts(settings)
        try write(conditioning.conditional, named: "conditional", into: folder)
        if let unconditional = conditioning.unconditional {
            try write(unconditional, named: "unconditional", into: folder)
        }
    }

    func denoise(_ stage: Stage, pipeline: StableDiffusionPipeline, text: URL, into folder: URL,
                 progress: (Int) -> Void) throws {
        // The prompts are in the stored conditioning; the pipeline's denoise does not read them from the settings.
        var settings = KinoraModels.GenerationSettings(prompt: "")
        settings.width = try int(stage, "width")
        settings.height = try int(stage, "height")
        settings.steps = try int(stage, "steps")
        settings.guidanceScale = Float(try number(stage, "cfg"))
        let samplerName = try string(stage, "sampler")
        guard let sampler = SamplerKind(rawValue: samplerName) else {
            throw RunnerError.unsupported(stage: stage.id, reason: "unknown sampler '\(samplerName)'")
        }
        settings.sampler = sampler
        settings.seed = stage.seed ?? 0
        let conditional = try read("conditional", in: text, for: stage)
        let unconditional = settings.guidanceScale > 1 ? try read("unconditional", in: text, for: stage) : nil
        let conditioning = PromptConditioning(conditional: conditional, unconditional: unconditional)
        let latents = try pipeline.denoise(settings, conditioning: conditioning) { progress($0.step) }
        let latentHeight = settings.height / pipeline.latentScale, latentWidth = settings.width / pipeline.latentScale
        try FloatArrayFile.write(latents,
                                 shape: [1, latents.count / (latentHeight * latentWidth), latentHeight, latentWidth],
                                 to: folder.appendingPathComponent("latents.kf32"))
    }

    func decode(_ stage: Stage, pipeline: StableDiffusionPipeline, latents: URL, tactic: Tactic?, into folder: URL)
        throws {
        let width = try int(stage, "width"), height = try int(stage, "height")
        let (values, _) = try FloatArrayFile.read(file("latents.kf32", in: latents, for: stage))
        let decoded = try pipeline.decode(values, width: width, height: height,
                                          tiling: tactic?.tileLatentSize == nil ? .auto : .on)
        try FloatArrayFile.write(decoded.image, shape: [3, height, width],
                                 to: folder.appendingPathComponent("image.kf32"))
        let plane = width * height
        var interleaved = [Float](repeating: 0, count: 3 * plane)
        for index in 0..<plane {
            for channel in 0..<3 { interleaved[3 * index + channel] = decoded.image[channel * plane + index] }
        }
        try StillImageWriter.write(VideoFrame(width: width, height: height, rgbFloat: interleaved),
                                   to: folder.appendingPathComponent("image.png"))
    }

    /// Writes one half's conditioning as `name.kf32` and, when pooled, `name-pooled.kf32`.
    private func write(_ embedding: PromptConditioning.Embedding, named name: String, into folder: URL) throws {
        try FloatArrayFile.write(embedding.hiddenStates.values, shape: embedding.hiddenStates.shape,
                                 to: folder.appendingPathComponent(name + ".kf32"))
        if let pooled = embedding.pooled {
            try FloatArrayFile.write(pooled.values, shape: pooled.shape,
                                     to: folder.appendingPathComponent(name + "-pooled.kf32"))
        }
    }

    /// Reads what `write` stored under `name` in the encode-text stage's folder.
    private func read(_ name: String, in folder: URL, for stage: Stage) throws -> PromptConditioning.Embedding {
        let states = try FloatArrayFile.read(file(name + ".kf32", in: folder, for: stage))
        let pooledURL = folder.appendingPathComponent(name + "-pooled.kf32")
        let pooled = FileManager.default.fileExists(atPath: pooledURL.path) ? try FloatArrayFile.read(pooledURL) : nil
        return PromptConditioning.Embedding(
            hiddenStates: try PromptConditioning.Values(states.values, shape: states.shape),
            pooled: try pooled.map { try PromptConditioning.Values($0.values, shape: $0.shape) })
    }
}
