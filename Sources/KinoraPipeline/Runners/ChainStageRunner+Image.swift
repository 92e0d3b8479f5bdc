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
    func encodeText(_ stage: Stage, pipeline: StableDiffusionPipeline, model: (any StageModel)?, into folder: URL)
        throws {
        var settings = KinoraModels.GenerationSettings(prompt: try string(stage, "prompt"))
        settings.negativePrompt = try string(stage, "negative")
        let syntax = try string(stage, "prompt_syntax")
        guard let promptSyntax = PromptSyntax(rawValue: syntax) else {
            throw RunnerError.unsupported(stage: stage.id, reason: "unknown prompt syntax '\(syntax)'")
        }
        settings.promptSyntax = promptSyntax
        settings.guidanceScale = Float(try number(stage, "cfg"))
        let dropped = pipeline.droppedPromptTokens(settings)
        for (field, count) in [("prompt", dropped.prompt), ("negative", dropped.negative)] where count > 0 {
            note("\(stage.owners.joined(separator: ", ")).\(field) is longer than CLIP's 75 tokens; its last \(count) "
                 + "are dropped, as diffusers drops them (prompt_syntax: a1111 encodes them in further windows)")
        }
        let conditioning = try pipeline.encodePrompts(settings)
        for embedding in [conditioning.conditional] + (conditioning.unconditional.map { [$0] } ?? []) {
            try requireFinite(embedding.hiddenStates.values + (embedding.pooled?.values ?? []), "text conditioning",
                              of: stage, model: model)
        }
        try write(conditioning.conditional, named: "conditional", into: folder)
        if let unconditional = conditioning.unconditional {
            try write(unconditional, named: "unconditional", into: folder)
        }
    }

    /// Denoise stages of one batch signature (same size, steps, sampler and guidance) as one batched sampling loop
    /// (`StableDiffusionPipeline.denoise(_:batch:)`, which runs them one by one when the batch does not fit, and a
    /// single stage on its own). With a tactic that streams the weights the UNet streams them; otherwise the
    /// pipeline keeps them resident unless only streaming fits (`WeightStreaming.auto`).
    func denoise(_ stages: [Stage], pipeline: StableDiffusionPipeline, model: (any StageModel)?,
                 texts: [String: URL], tactic: Tactic?, into folders: [String: URL],
                 progress: (String, Int) -> Void) throws {
        let settings = try denoiseSettings(stages[0], tactic: tactic)
        let requests = try stages.map { stage -> StableDiffusionPipeline.DenoiseRequest in
            guard let input = stage.inputs.first, let text = texts[input] else {
                throw RunnerError.missingInput(stage: stage.id, file: "input 1")
            }
            return StableDiffusionPipeline.DenoiseRequest(conditioning: try conditioning(stage, in: text, settings),
                                                          seed: stage.seed ?? 0)
        }
        let latents = try pipeline.denoise(settings, batch: requests) { done in
            Self.report(done.step, of: done.picture, in: stages, to: progress)
        }
        for (stage, values) in zip(stages, latents) {
            guard let folder = folders[stage.id] else {
                throw RunnerError.missingInput(stage: stage.id, file: "its output folder")
            }
            try requireFinite(values, "latents", of: stage, model: model)
            try writeLatents(values, settings, pipeline, into: folder)
        }
    }

    /// A denoise stage's settings (not its seed): size, steps, guidance and sampler, and weight streaming as the
    /// tactic says. The prompts are in the stored conditioning; the pipeline's denoise does not read them.
    private func denoiseSettings(_ stage: Stage, tactic: Tactic?) throws -> KinoraModels.GenerationSettings {
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
        settings.unetWeightStreaming = tactic?.streamedWeights == true ? .on : .auto
        return settings
    }

    /// The conditioning the encode-text stage stored in `folder` for `stage`.
    private func conditioning(_ stage: Stage, in folder: URL, _ settings: KinoraModels.GenerationSettings) throws
        -> PromptConditioning {
        let conditional = try read("conditional", in: folder, for: stage)
        let unconditional = settings.guidanceScale > 1 ? try read("unconditional", in: folder, for: stage) : nil
        return PromptConditioning(conditional: conditional, unconditional: unconditional)
    }

    /// Writes final latents as `latents.kf32`, [1, channels, height / f, width / f].
    private func writeLatents(_ latents: [Float], _ settings: KinoraModels.GenerationSettings,
                              _ pipeline: StableDiffusionPipeline, into folder: URL) throws {
        let latentHeight = settings.height / pipeline.latentScale, latentWidth = settings.width / pipeline.latentScale
        try FloatArrayFile.write(latents,
                                 shape: [1, latents.count / (latentHeight * latentWidth), latentHeight, latentWidth],
                                 to: folder.appendingPathComponent("latents.kf32"))
    }

    func decode(_ stage: Stage, pipeline: StableDiffusionPipeline, model: (any StageModel)?, latents: URL,
                tactic: Tactic?, into folder: URL) throws {
        let width = try int(stage, "width"), height = try int(stage, "height")
        let (values, _) = try readFinite("latents.kf32", in: latents, for: stage)
        let decoded = try pipeline.decode(values, width: width, height: height,
                                          tiling: tactic?.tileLatentSize == nil ? .auto : .on)
        try requireFinite(decoded.image, "picture", of: stage, model: model)
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
        let states = try readFinite(name + ".kf32", in: folder, for: stage)
        let pooledName = name + "-pooled.kf32"
        let pooled = FileManager.default.fileExists(atPath: folder.appendingPathComponent(pooledName).path)
            ? try readFinite(pooledName, in: folder, for: stage) : nil
        return PromptConditioning.Embedding(
            hiddenStates: try PromptConditioning.Values(states.values, shape: states.shape),
            pooled: try pooled.map { try PromptConditioning.Values($0.values, shape: $0.shape) })
    }
}
