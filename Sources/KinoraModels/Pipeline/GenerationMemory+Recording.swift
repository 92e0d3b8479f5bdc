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
        let (plan, recorded): (MemoryPlan, UInt64) = try {
            let graph = Graph(arena: ActivationArena(device: device))
            let outputs = try body(graph)
            return (try graph.memoryPlan(outputs), memory.liveBytes)
        }()
        let after = memory.liveBytes
        let loaded = after - min(start, after)
        return Recording(stage: Stage(name: name, inputBytes: recorded - min(after, recorded),
                                      plannedBytes: plan.peakBytes, outputBytes: plan.outputBytes,
                                      estimatedBytes: estimated),
                         loadedBytes: loaded)
    }

    /// The UNet at batch 1 and 2 over `height` × `width` latents and `tokens` of text conditioning.
    static func unetStages(_ unet: UNet2DConditionModel, height: Int, width: Int, tokens: Int = 77,
                           device: GPUDevice) throws -> (batch1: Stage, batch2: Stage, loadedBytes: UInt64) {
        let stages = try [1, 2].map { batch in
            try record("UNet batch \(batch)", device: device,
                       estimated: UInt64(unet.activationBytes(batch: batch, height: height, width: width))) { graph in
                let inputs = try CatalogInputs.unet(graph, unet.configuration, batch: batch, height: height,
                                                    width: width, tokens: tokens)
                return [try CatalogInputs.recordUNet(graph, unet, inputs)]
            }
        }
        return (stages[0].stage, stages[1].stage, stages[0].loadedBytes + stages[1].loadedBytes)
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
