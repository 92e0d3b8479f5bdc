import KinoraGPU
import KinoraTensor

extension StableDiffusionPipeline {
    /// The device memory `settings` needs, stage by stage, measured without running a step: the weights not yet on
    /// the device must fit next to what is live (else `PipelineError.overBudget` for stage "model weights"), then
    /// every model is loaded and each stage recorded over stand-in inputs of this generation's shapes.
    public func memory(for settings: GenerationSettings) throws -> GenerationMemory {
        try validate(settings)
        let memory = device.memory
        arena.trim()
        memory.trim()
        let pending = pendingWeightBytes()
        guard memory.liveBytes + pending <= memory.budget else {
            throw PipelineError.overBudget(needed: memory.liveBytes + pending, budget: memory.budget,
                                           stage: "model weights")
        }
        let tokenizer = components.tokenizer
        let positive = PromptWeighting.windows(settings.prompt, tokenizer: tokenizer).count
        let negative = PromptWeighting.windows(settings.negativePrompt, tokenizer: tokenizer).count
        let windows = settings.guidanceScale > 1 ? max(positive, negative) : positive
        let latentHeight = settings.height / latentScale, latentWidth = settings.width / latentScale

        let text = try GenerationMemory.record("text encoders", device: device) { graph in
            let ids = components.tokenizer.window([]).map { Int32($0) }
            let ids2 = components.tokenizer2.map { $0.window([]).map { Int32($0) } }
            return try recordTextEncoding(graph, ids: ids, ids2: ids2, clipSkip: settings.clipSkip)
        }
        if text.loadedBytes > 0 { textEncoderBytes = text.loadedBytes }
        let unetStages = try GenerationMemory.unetStages(unet, height: latentHeight, width: latentWidth,
                                                         tokens: 77 * windows, device: device)
        let decodeStages = try GenerationMemory.decodeStages(vae, height: latentHeight, width: latentWidth,
                                                             device: device)
        memory.trim()
        return GenerationMemory(
            residentBytes: memory.liveBytes, textEncoderBytes: textEncoderBytes, textEncoding: text.stage,
            windows: windows, unetBatch1: unetStages.batch1, unetBatch2: unetStages.batch2,
            decodeUntiled: decodeStages.untiled, decodeTiled: decodeStages.tiled)
    }

    /// The tactics for `settings` on the device budget (`GenerationMemory.plan`); throws
    /// `PipelineError.overBudget`, naming the stage, when nothing fits.
    func planMemory(_ settings: GenerationSettings) throws -> GenerationMemoryPlan {
        try memory(for: settings).plan(budget: device.memory.budget, guidance: settings.guidanceScale > 1,
                                       tiling: settings.vaeTiling)
    }

    /// File bytes of the weights not yet uploaded: the text encoders when they are not loaded, and what the UNet
    /// and VAE have not uploaded yet (an upper bound: a few tensors, such as CLIP's token table, never upload).
    private func pendingWeightBytes() -> UInt64 {
        func fileBytes(_ store: any WeightStore) -> Int {
            store.tensorNames.reduce(0) { $0 + ((try? store.info($1).byteCount) ?? 0) }
        }
        var pending = max(0, fileBytes(components.unetStore) - unet.weights.uploadedBytes)
            + max(0, fileBytes(components.vaeStore) - vae.weights.uploadedBytes)
        if textEncoders == nil {
            pending += fileBytes(components.textEncoder.store)
                + (components.textEncoder2.map { fileBytes($0.store) } ?? 0)
        }
        return UInt64(pending)
    }
}
