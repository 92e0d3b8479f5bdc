import KinoraGPU
import KinoraTensor

/// Measuring a generation's stages without running them: each stage's graph is recorded over stand-in inputs of
/// the real shapes (`CatalogInputs`), which uploads any weights not yet on the device, and `Graph.memoryPlan`
/// predicts its activations and outputs exactly as the arena will allocate them.
extension GenerationMemory {
    /// One recorded stage, and the bytes that stayed on the device after its graph was dropped (the weights the
    /// recording uploaded).
    struct Recording {
        var stage: Stage
        var loadedBytes: UInt64
    }

    /// Records `body` on a graph with a fresh arena and plans it. The stage's inputs are what the recording
    /// uploaded that went away with the graph (stand-in inputs, the model's own constants); what stayed is
    /// `loadedBytes`.
    static func record(_ name: String, device: GPUDevice, estimated: UInt64? = nil,
                       _ body: (Graph) throws -> [Value]) throws -> Recording {
        let memory = device.memory
        let start = memory.liveBytes
        let (plan, recorded): (MemoryPlan, UInt64) = try overBudgetIfOutOfMemory(stage: name, device: device) {
            let graph = Graph(arena: ActivationArena(device: device))
            let outputs = try body(graph)
            return (try graph.memoryPlan(outputs), memory.liveBytes)
        }
        let after = memory.liveBytes
        let loaded = after - min(start, after)
        return Recording(stage: Stage(name: name, inputBytes: recorded - min(after, recorded),
                                      plannedBytes: plan.peakBytes, outputBytes: plan.outputBytes,
                                      estimatedBytes: estimated),
                         loadedBytes: loaded)
    }

    /// `body`, with the allocator refusing a stand-in input or a weight upload reported as the stage being over
    /// budget (what it asked for on top of what was live), so a plan that cannot even be recorded is refused like
    /// one that does not fit.
    static func overBudgetIfOutOfMemory<T>(stage: String, device: GPUDevice, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch GPUError.outOfMemory(let requested, _, let budget) {
            throw PipelineError.overBudget(needed: device.memory.liveBytes + requested, budget: budget, stage: stage)
        }
    }

    /// The UNet over `height` × `width` latents and `tokens` of text conditioning for `pictures` pictures: one
    /// pass per guidance half (batch `pictures`) and both halves in one pass (batch 2 · `pictures`).
    static func unetStages(_ unet: UNet2DConditionModel, height: Int, width: Int, tokens: Int = 77,
                           batch pictures: Int = 1, device: GPUDevice) throws
        -> (batch1: Stage, batch2: Stage, loadedBytes: UInt64) {
        let stages = try [pictures, 2 * pictures].map { batch in
            try record("UNet batch \(batch)", device: device,
                       estimated: UInt64(unet.activationBytes(batch: batch, height: height, width: width))) { graph in
                let inputs = try CatalogInputs.unet(graph, unet.configuration, batch: batch, height: height,
                                                    width: width, tokens: tokens)
                return [try CatalogInputs.recordUNet(graph, unet, inputs)]
            }
        }
        return (stages[0].stage, stages[1].stage, stages[0].loadedBytes + stages[1].loadedBytes)
    }

    /// The UNet for `pictures` pictures (batch `pictures` and 2 · `pictures`) with its weights streamed block by
    /// block (`UNet2DConditionModel.streamedPrediction`), planned piece by piece over stand-in inputs: each stage's
    /// inputs are the stand-ins, and its planned bytes what the pass adds above them at its highest (the largest
    /// piece's weights, the skip states it holds, the piece's activations). The head and tail weights stay
    /// (`loadedBytes`). A piece whose weights cannot be uploaded under the budget is `PipelineError.overBudget`.
    static func streamedUNetStages(_ unet: UNet2DConditionModel, height: Int, width: Int, tokens: Int = 77,
                                   batch pictures: Int = 1, device: GPUDevice) throws
        -> (batch1: Stage, batch2: Stage, loadedBytes: UInt64) {
        let memory = device.memory
        let start = memory.liveBytes
        let config = unet.configuration
        let stages = try [pictures, 2 * pictures].map { batch -> Stage in
            try overBudgetIfOutOfMemory(stage: "UNet (weights streamed)", device: device) {
                let before = memory.liveBytes
                let inputs = try CatalogInputs.streamedUNet(config, batch: batch, height: height, width: width,
                                                            tokens: tokens, device: device)
                let inputBytes = memory.liveBytes - before
                let peak = try unet.plannedStreamedPeak(inputs)
                // Live now: what was before, the stand-ins, and the head and tail weights the pass keeps.
                return Stage(name: "UNet batch \(batch), weights streamed", inputBytes: inputBytes,
                             plannedBytes: peak - min(peak, memory.liveBytes),
                             outputBytes: UInt64(batch * config.outChannels * height * width * 4))
            }
        }
        return (stages[0], stages[1], memory.liveBytes - min(start, memory.liveBytes))
    }

    /// The pipeline's VAE decode (`AutoencoderKL.decodeLatents`) of `height` × `width` latents, untiled and with
    /// each of `tileSizes(...)`.
    static func decodeStages(_ vae: AutoencoderKL, height: Int, width: Int, device: GPUDevice) throws
        -> (untiled: Stage, tiled: [TiledDecode], loadedBytes: UInt64) {
        let configuration = vae.configuration
        func decode(_ tile: Int?) throws -> Recording {
            try record(tile == nil ? "VAE decode" : "VAE decode tiled", device: device,
                       estimated: tile == nil ? vae.decodeActivationBytes(height: height, width: width) : nil) {
                graph in
                let latents = try CatalogInputs.latents(graph, channels: configuration.latentChannels, batch: 1,
                                                        height: height, width: width)
                return [try vae.decodeLatents(graph, latents, tile: tile)]
            }
        }
        let untiled = try decode(nil)
        var loaded = untiled.loadedBytes
        let tiled = try tileSizes(configuration, height: height, width: width).map { tile in
            let recording = try decode(tile)
            loaded += recording.loadedBytes
            return TiledDecode(latentTileSize: tile, stage: recording.stage)
        }
        return (untiled.stage, tiled, loaded)
    }
}
