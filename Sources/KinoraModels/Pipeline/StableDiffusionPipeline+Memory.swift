import KinoraFormats
import KinoraGPU
import KinoraTensor

extension StableDiffusionPipeline {
    /// The device memory `settings` needs, stage by stage, measured without running a step: the weights not yet on
    /// the device must fit next to what is live (else `PipelineError.overBudget` for stage "model weights"), then
    /// every model is loaded and each stage recorded over stand-in inputs of this generation's shapes. With
    /// `streamedUNet` the UNet's weights are dropped first and its stages planned piece by piece with them
    /// streamed, so only its head and tail count as resident.
    public func memory(for settings: GenerationSettings, streamedUNet: Bool = false) throws -> GenerationMemory {
        try validate(settings)
        if streamedUNet { try releaseUNet() }
        try checkWeightsFit(pendingWeightBytes(textEncoders: true, unet: !streamedUNet, vae: true)
            + (streamedUNet ? UInt64(unet.streamedResidentBytes) : 0))
        let memory = device.memory
        let (text, windows) = try textEncodingStage(settings)
        let latentHeight = settings.height / latentScale, latentWidth = settings.width / latentScale
        let unetStages = streamedUNet
            ? try GenerationMemory.streamedUNetStages(unet, height: latentHeight, width: latentWidth,
                                                      tokens: 77 * windows, device: device)
            : try GenerationMemory.unetStages(unet, height: latentHeight, width: latentWidth, tokens: 77 * windows,
                                              device: device)
        let decodeStages = try GenerationMemory.decodeStages(vae, height: latentHeight, width: latentWidth,
                                                             device: device)
        memory.trim()
        return GenerationMemory(
            residentBytes: memory.liveBytes, textEncoderBytes: textEncoderBytes, textEncoding: text,
            windows: windows, unetBatch1: unetStages.batch1, unetBatch2: unetStages.batch2,
            decodeUntiled: decodeStages.untiled, decodeTiled: decodeStages.tiled, streamedUNet: streamedUNet)
    }

    /// The tactics for `settings` on the device budget (`GenerationMemory.plan`), with the UNet resident or
    /// streamed as `settings.unetWeightStreaming` says (`.auto`: resident when that fits); throws
    /// `PipelineError.overBudget`, naming the stage, when nothing fits.
    func planMemory(_ settings: GenerationSettings) throws -> GenerationMemoryPlan {
        try withUNetStreaming(settings.unetWeightStreaming) { streamed in
            try memory(for: settings, streamedUNet: streamed).plan(
                budget: device.memory.budget, guidance: settings.guidanceScale > 1, tiling: settings.vaeTiling)
        }
    }

    /// `plan(false)` (UNet resident) or `plan(true)` (streamed) as `streaming` asks; for `.auto`, resident first and
    /// streamed when that is over budget (the UNet's weights are dropped before), reporting the smaller need when
    /// neither fits.
    private func withUNetStreaming(_ streaming: WeightStreaming, _ plan: (Bool) throws -> GenerationMemoryPlan)
        throws -> GenerationMemoryPlan {
        switch streaming {
        case .off: return try plan(false)
        case .on: return try plan(true)
        case .auto:
            do {
                return try plan(false)
            } catch PipelineError.overBudget(let needed, let budget, let stage) {
                do {
                    return try plan(true)
                } catch PipelineError.overBudget(let streamedNeed, _, _) where streamedNeed >= needed {
                    throw PipelineError.overBudget(needed: needed, budget: budget, stage: stage)
                }
            }
        }
    }

    /// The pre-flight check of `encodePrompts` on its own: the text encoders' weights, then their recorded stage
    /// and its output next to what is resident (`GenerationMemory.planTextEncoding`). Neither the UNet nor the VAE
    /// is touched.
    func planTextEncoding(_ settings: GenerationSettings) throws -> GenerationMemoryPlan {
        try checkWeightsFit(pendingWeightBytes(textEncoders: true))
        let (text, windows) = try textEncodingStage(settings)
        device.memory.trim()
        return try GenerationMemory.planTextEncoding(residentBytes: device.memory.liveBytes, textEncoding: text,
                                                     windows: windows, guidance: settings.guidanceScale > 1,
                                                     budget: device.memory.budget)
    }

    /// The pre-flight check of a denoise on its own (of `batch` pictures with `tokens` of text each and
    /// `conditioningBytes` of conditioning in all): the UNet's weights (and the VAE's for image-to-image), then the
    /// UNet recorded at the batch's sizes next to what is resident and the conditioning
    /// (`GenerationMemory.planDenoise`), resident or streamed as `settings.unetWeightStreaming` says. The text
    /// encoders are not loaded.
    func planDenoise(_ settings: GenerationSettings, tokens: Int, conditioningBytes: UInt64, batch: Int,
                     imageToImage: Bool) throws -> GenerationMemoryPlan {
        try withUNetStreaming(settings.unetWeightStreaming) { streamed in
            if streamed { try releaseUNet() }
            try checkWeightsFit(pendingWeightBytes(unet: !streamed, vae: imageToImage)
                + (streamed ? UInt64(unet.streamedResidentBytes) : 0))
            let height = settings.height / latentScale, width = settings.width / latentScale
            let stages = streamed
                ? try GenerationMemory.streamedUNetStages(unet, height: height, width: width, tokens: tokens,
                                                          batch: batch, device: device)
                : try GenerationMemory.unetStages(unet, height: height, width: width, tokens: tokens, batch: batch,
                                                  device: device)
            device.memory.trim()
            return try GenerationMemory.planDenoise(
                residentBytes: device.memory.liveBytes, conditioningBytes: conditioningBytes,
                unetBatch1: stages.batch1, unetBatch2: stages.batch2, streamedUNet: streamed,
                guidance: settings.guidanceScale > 1, budget: device.memory.budget)
        }
    }

    /// Trims the arena and allocator, then throws `PipelineError.overBudget` for stage "model weights" when
    /// `pending` more bytes of weights do not fit next to what is live.
    private func checkWeightsFit(_ pending: UInt64) throws {
        let memory = device.memory
        arena.trim()
        memory.trim()
        guard memory.liveBytes + pending <= memory.budget else {
            throw PipelineError.overBudget(needed: memory.liveBytes + pending, budget: memory.budget,
                                           stage: "model weights")
        }
    }

    /// The text encoders over one window, recorded (which loads them), and the windows per prompt for `settings`.
    private func textEncodingStage(_ settings: GenerationSettings) throws
        -> (stage: GenerationMemory.Stage, windows: Int) {
        let tokenizer = components.tokenizer
        let positive = settings.promptSyntax.windows(settings.prompt, tokenizer: tokenizer).count
        let negative = settings.promptSyntax.windows(settings.negativePrompt, tokenizer: tokenizer).count
        let windows = settings.guidanceScale > 1 ? max(positive, negative) : positive
        let text = try GenerationMemory.record("text encoders", device: device) { graph in
            let ids = components.tokenizer.window([]).map { Int32($0) }
            let ids2 = components.tokenizer2.map { $0.window([]).map { Int32($0) } }
            return try recordTextEncoding(graph, ids: ids, ids2: ids2, clipSkip: settings.clipSkip)
        }
        if text.loadedBytes > 0 { textEncoderBytes = text.loadedBytes }
        return (text.stage, windows)
    }

    /// Device bytes of the chosen weights not yet uploaded (their file bytes, float8 at one byte an element, but for
    /// float8 weights a LoRA widens as it merges): the text encoders when they are not loaded, and what the
    /// UNet and VAE have not uploaded yet (an upper bound: a few tensors, such as CLIP's token table, never upload).
    private func pendingWeightBytes(textEncoders includeText: Bool = false, unet includeUNet: Bool = false,
                                    vae includeVAE: Bool = false) -> UInt64 {
        func fileBytes(_ store: any WeightStore, _ patches: [String: [LoRAPatch]] = [:]) -> Int {
            LoRAMerge.deviceBytes(of: store, patches: patches)
        }
        var pending = 0
        if includeUNet {
            pending += max(0, fileBytes(components.unetStore, components.unetPatches) - unet.weights.uploadedBytes)
        }
        if includeVAE { pending += max(0, fileBytes(components.vaeStore) - vae.weights.uploadedBytes) }
        if includeText && textEncoders == nil {
            pending += fileBytes(components.textEncoder.store, components.textEncoder.patches)
                + (components.textEncoder2.map { fileBytes($0.store, $0.patches) } ?? 0)
        }
        return UInt64(pending)
    }
}
