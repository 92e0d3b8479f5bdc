import KinoraFormats
import KinoraGPU
import KinoraTensor

/// Plans a Wan generation's device memory stage by stage, as `WanStageRunner` runs the stages: each stage's model is
/// built on the device, its graphs recorded over placeholders of the real shapes (which uploads the weights they
/// read) and planned with `Graph.memoryPlan`, then the model is dropped before the next stage. Nothing runs.
///
/// - text encoding: UMT5 with its layers streamed one at a time (`UMT5EncoderModel.plannedStreamedPass`; the
///   embedding table stays memory-mapped on the host and only the prompt's rows are gathered), then the trim and
///   zero padding to 512 rows; the prompt, then with guidance the negative prompt, whose embeddings stay on the
///   device until the denoising ends;
/// - keyframe encode (image-to-video): the VAE's encoder over the keyframe, normalised, as `WanVideoPipeline`
///   encodes it;
/// - denoise: one transformer pass over the latents (two per step with guidance, one after the other), with every
///   weight resident when that fits the budget, else streamed block by block
///   (`WanTransformer3DModel.plannedStreamedPass`); `batchedDenoise` plans it for several clips denoised together;
/// - decode: the streamed decode of one latent frame per call with the feature cache
///   (`AutoencoderKLWan.streamingDecodeMemory`), in whole frames when they fit, else in the first of diffusers'
///   tiles (and halves of them) that fits.
///
/// Peaks count what the allocator counts (every buffer rounded to its alignment, the constants a graph makes while
/// it is recorded), so that a run's allocator peak is the planned one (`WanStageRunner` measures it).
public enum WanMemoryPlanner {
    /// The plan of `request` for `components` on `device`, with tactics chosen to fit `budget` (default: the
    /// allocator's). A plan that does not fit is returned all the same, with its smallest tactics
    /// (`WanMemoryPlan.checkBudget` refuses it); a stage whose weights cannot even be uploaded to plan it is
    /// `PipelineError.overBudget`. Bad sizes and frame counts are `WanVideoPipelineError`, before any work.
    public static func plan(
        _ components: WanStageComponents, _ request: WanGenerationRequest, budget: UInt64? = nil,
        device: GPUDevice
    ) throws -> WanMemoryPlan {
        let latent = try components.latentShape(width: request.width, height: request.height, frames: request.frames)
        let budget = budget ?? device.memory.budget
        let text = try overBudget(.textEncoding, budget: budget, device: device) {
            try textStage(components, request, device: device)
        }
        let carried = conditioningBytes(components, request, memory: device.memory)
        var stages = [text]
        if request.imageToVideo {
            stages.append(
                try overBudget(.keyframeEncode, budget: budget, device: device) {
                    try keyframeStage(components, request, carried: carried, device: device)
                })
        }
        let denoise = try overBudget(.denoise, budget: budget, device: device) {
            try denoiseStage(components, request, latent: latent, carried: carried, budget: budget, device: device)
        }
        stages.append(denoise.stage)
        let decode = try overBudget(.decode, budget: budget, device: device) {
            try decodeStage(components, latent: latent, precision: request.precision, budget: budget, device: device)
        }
        stages.append(decode.stage)
        return WanMemoryPlan(
            model: components.name, request: request, latentShape: latent, budget: budget,
            deviceMaxBufferBytes: device.memory.maxBufferSize, stages: stages, streamedTransformer: denoise.streamed,
            decodeTile: decode.tiles.map { [$0.sampleHeight, $0.sampleWidth, $0.strideHeight, $0.strideWidth] })
    }

    /// The denoise stage of `batch` clips of `request` denoised together (`WanVideoPipeline.denoise(_:conditioning:
    /// clips:progress:)`): the weights once, and the latents, text rows and activations of a pass over the batch beside
    /// the batch's encoded prompts, stacked one row a clip. Its tactic streams the weights only when the batch does not
    /// fit `budget` (default: the allocator's) with them resident. Bad sizes and frame counts are
    /// `WanVideoPipelineError`; weights that cannot even be uploaded to plan it, `PipelineError.overBudget`.
    public static func batchedDenoise(
        _ components: WanStageComponents, _ request: WanGenerationRequest, batch: Int, budget: UInt64? = nil,
        device: GPUDevice
    ) throws -> (stage: WanStagePlan, streamed: Bool) {
        let latent = try components.latentShape(width: request.width, height: request.height, frames: request.frames)
        let budget = budget ?? device.memory.budget
        let carried = conditioningBytes(components, request, memory: device.memory, batch: batch)
        return try overBudget(.denoise, budget: budget, device: device) {
            try denoiseStage(
                components, request, latent: [batch] + latent.dropFirst(), carried: carried, budget: budget,
                device: device)
        }
    }

    /// Bytes of `batch` prompts' Wan embeddings [batch, 512, d_model] on the device, in one buffer: f32, as UMT5
    /// hands them on (`UMT5EncoderModel.wanPromptEmbeds`) whatever the transformer's activations.
    static func promptEmbedsBytes(_ components: WanStageComponents, memory: MemoryAllocator, batch: Int = 1) -> UInt64 {
        memory.allocationSize(
            for: UInt64(batch * UMT5EncoderModel.wanMaxSequenceLength * components.textEncoder.dModel)
                * UInt64(DType.f32.size))
    }

    /// The encoded prompts the stages after the text encoding hold: one, or two with guidance (of `batch` clips
    /// each, stacked).
    static func conditioningBytes(
        _ components: WanStageComponents, _ request: WanGenerationRequest, memory: MemoryAllocator, batch: Int = 1
    ) -> UInt64 {
        (request.guidance ? 2 : 1) * promptEmbedsBytes(components, memory: memory, batch: batch)
    }

    // MARK: Stages

    static func textStage(_ components: WanStageComponents, _ request: WanGenerationRequest, device: GPUDevice)
        throws -> WanStagePlan
    {
        let memory = device.memory
        let tokens = request.promptTokens
        let (start, encoder) = try fresh(device) { try components.makeTextEncoder(device: device) }
        defer { memory.trim() }
        let pass = try encoder.plannedStreamedPass(
            batch: 1, length: tokens, padded: false, precision: request.precision)
        // The trim and zero padding to 512 rows, over the encoder's output (`UMT5EncoderModel.wanPromptEmbeds`).
        let graph = Graph(arena: ActivationArena(device: device))
        let before = memory.liveBytes
        let hidden = try graph.placeholder(
            shape: [1, tokens, components.textEncoder.dModel], dtype: encoder.activationType(request.precision))
        let embeds = try UMT5EncoderModel.wanPromptEmbeds(
            graph, lastHiddenState: graph.cast(hidden, to: .f32), attentionMask: [[Int](repeating: 1, count: tokens)])
        let constants = memory.liveBytes - before
        let trim = try graph.memoryPlan([embeds])
        let hiddenBytes = UInt64(hidden.count * hidden.dtype.size)
        let one = max(
            pass.peakBytes - start,
            memory.allocationSize(for: hiddenBytes) + constants + trim.allocatedPeakBytes)
        let held = request.guidance ? promptEmbedsBytes(components, memory: memory) : 0
        let layers = (0..<components.textEncoder.numLayers).map { "encoder.block.\($0)." }
        let largestLayer =
            layers.map { weightBytes(encoder.weights, under: [$0], memory: memory, uploaded: false) }.max() ?? 0
        let largestTensor = largestTensorBytes(encoder.weights, under: layers + ["encoder.final_layer_norm"])
        let prompts = request.guidance ? "prompt and negative prompt" : "prompt"
        return WanStagePlan(
            stage: .textEncoding,
            tactic: "UMT5 layers streamed one at a time, embedding rows gathered on the host; \(prompts), "
                + "\(tokens) tokens each",
            weightBytes: largestLayer, carriedBytes: 0, peakBytes: held + one,
            largestBufferBytes: [pass.largestBufferBytes, trim.largestBufferBytes, largestTensor].max()!)
    }

    static func keyframeStage(
        _ components: WanStageComponents, _ request: WanGenerationRequest, carried: UInt64, device: GPUDevice
    ) throws -> WanStagePlan {
        let memory = device.memory
        let (start, vae) = try fresh(device) { try components.makeAutoencoder(device: device) }
        defer { memory.trim() }
        let graph = Graph(arena: ActivationArena(device: device))
        graph.activationDType = vae.activationType(request.precision)
        let video = try graph.placeholder(shape: [1, vae.configuration.videoChannels, 1, request.height, request.width])
        let latent = try vae.normalizeLatents(graph, vae.encode(graph, video).mean)
        // Weights uploaded by the recording, and its constants.
        let recorded = memory.liveBytes - start
        let plan = try graph.memoryPlan([latent])
        let weights = weightBytes(vae.weights, under: ["encoder.", "quant_conv."], memory: memory)
        // The keyframe arrives from the host in f32.
        let videoBytes = UInt64(video.count * video.dtype.size)
        return WanStagePlan(
            stage: .keyframeEncode, tactic: "VAE encoder over the keyframe, whole",
            weightBytes: weights, carriedBytes: carried,
            peakBytes: carried + memory.allocationSize(for: videoBytes) + recorded + plan.allocatedPeakBytes,
            largestBufferBytes: [
                plan.largestBufferBytes, videoBytes,
                largestTensorBytes(vae.weights, under: ["encoder.", "quant_conv."]),
            ].max()!)
    }

    /// The denoise stage over latents `latent` [B, z_dim, T, h, w] (B clips denoised together) holding `carried`
    /// bytes of encoded prompts.
    static func denoiseStage(
        _ components: WanStageComponents, _ request: WanGenerationRequest, latent: [Int], carried: UInt64,
        budget: UInt64, device: GPUDevice
    ) throws -> (stage: WanStagePlan, streamed: Bool) {
        let memory = device.memory
        let configuration = components.transformer
        let textRows = UMT5EncoderModel.wanMaxSequenceLength
        let batch = latent[0]
        let guidance = (batch > 1 ? "batch of \(batch), " : "")
            + (request.guidance ? "guidance sequential (two passes a step)" : "no guidance (one pass a step)")
        let activations = ActivationPrecision.resolve(
            request.precision, weights: components.transformerStore.storageType()).dtype
        let allBlocks = ["patch_embedding", "condition_embedder", "blocks.", "scale_shift_table", "proj_out"]
        // The latents and the prompts' embeddings reach the transformer in f32 (the sampler's host latents, UMT5's
        // output), whatever its activations.
        let latentBytes = UInt64(latent.reduce(DType.f32.size, *))
        let textBytes = UInt64(batch * textRows * configuration.textDim * DType.f32.size)

        // Every weight resident, when they fit the budget and the allocator takes them.
        let resident: WanStagePlan? = try {
            let (start, transformer) = try fresh(device) { try components.makeTransformer(device: device) }
            defer { memory.trim() }
            let weights = weightBytes(transformer.weights, under: allBlocks, memory: memory, uploaded: false)
            guard carried + weights <= budget else { return nil }
            let graph = Graph(arena: ActivationArena(device: device))
            graph.activationDType = transformer.activationType(request.precision)
            let output: Value
            do {
                output = try transformer(
                    graph, hiddenStates: graph.placeholder(shape: latent),
                    timestep: timestep(latent, configuration, request),
                    encoderHiddenStates: graph.placeholder(shape: [batch, textRows, configuration.textDim]))
            } catch GPUError.outOfMemory {
                return nil
            }
            // The weights the recording uploaded, the rotary tables and the other constants.
            let recorded = memory.liveBytes - start
            let plan = try graph.memoryPlan([output])
            return WanStagePlan(
                stage: .denoise, tactic: "DiT resident, \(activations) activations, \(guidance)",
                weightBytes: weights, carriedBytes: carried,
                peakBytes: carried + memory.allocationSize(for: latentBytes) + recorded + plan.allocatedPeakBytes,
                largestBufferBytes: [
                    plan.largestBufferBytes, latentBytes, textBytes,
                    largestTensorBytes(transformer.weights, under: allBlocks),
                ].max()!)
        }()
        if let resident, resident.peakBytes <= budget { return (resident, false) }

        let (start, transformer) = try fresh(device) { try components.makeTransformer(device: device) }
        defer { memory.trim() }
        let pass = try transformer.plannedStreamedPass(
            latentShape: latent, textLength: textRows, perTokenTimesteps: request.imageToVideo,
            precision: request.precision)
        let stays = weightBytes(
            transformer.weights, under: ["patch_embedding", "condition_embedder", "scale_shift_table", "proj_out"],
            memory: memory)
        let blocks = (0..<configuration.numLayers).map { "blocks.\($0)." }
        let largestBlock =
            blocks.map { weightBytes(transformer.weights, under: [$0], memory: memory, uploaded: false) }.max() ?? 0
        // The pass counts one prompt's embeddings (the batch's, stacked); the other one is held meanwhile.
        let other = carried - min(carried, promptEmbedsBytes(components, memory: memory, batch: batch))
        let streamed = WanStagePlan(
            stage: .denoise, tactic: "DiT streamed block by block, \(activations) activations, \(guidance)",
            weightBytes: stays + largestBlock,
            carriedBytes: carried, peakBytes: pass.peakBytes - start + other,
            largestBufferBytes: max(pass.largestBufferBytes, largestTensorBytes(transformer.weights, under: allBlocks)))
        if let resident, resident.peakBytes < streamed.peakBytes { return (resident, false) }
        return (streamed, true)
    }

    static func decodeStage(
        _ components: WanStageComponents, latent: [Int], precision: ActivationPrecision? = nil, budget: UInt64,
        device: GPUDevice
    ) throws -> (stage: WanStagePlan, tiles: AutoencoderKLWan.TileConfiguration?) {
        let (start, vae) = try fresh(device) { try components.makeAutoencoder(device: device) }
        defer { device.memory.trim() }
        var best: (stage: WanStagePlan, tiles: AutoencoderKLWan.TileConfiguration?)?
        for tiles in tileCandidates(vae, latentHeight: latent[3], latentWidth: latent[4]) {
            let stage = try decodeStage(vae, latent: latent, tiles: tiles, precision: precision, start: start)
            if stage.peakBytes <= budget { return (stage, tiles) }
            if best == nil || stage.peakBytes < best!.stage.peakBytes { best = (stage, tiles) }
        }
        return best!
    }

    /// The decode stage with `tiles` (nil: whole frames), for `components` on `device`.
    static func decodeStage(
        _ components: WanStageComponents, latent: [Int], tiles: AutoencoderKLWan.TileConfiguration?,
        precision: ActivationPrecision? = nil, device: GPUDevice
    ) throws -> WanStagePlan {
        let (start, vae) = try fresh(device) { try components.makeAutoencoder(device: device) }
        defer { device.memory.trim() }
        return try decodeStage(vae, latent: latent, tiles: tiles, precision: precision, start: start)
    }

    /// The decode stage of `vae`, built when `start` bytes were live.
    private static func decodeStage(
        _ vae: AutoencoderKLWan, latent: [Int], tiles: AutoencoderKLWan.TileConfiguration?,
        precision: ActivationPrecision?, start: UInt64
    ) throws -> WanStagePlan {
        // As `WanVideoPipeline.decode`: the feature cache in the activation type.
        let call = try vae.streamingDecodeMemory(
            latentHeight: latent[3], latentWidth: latent[4], tiles: tiles, cacheType: vae.activationType(precision),
            precision: precision)
        // The decoder's weights, uploaded by the first plan and kept.
        let weights = vae.weights.device.memory.liveBytes - start
        let tactic =
            "VAE decoder streamed one latent frame a call, feature cache carried; "
            + (tiles.map {
                "tiles of \($0.sampleWidth)×\($0.sampleHeight) pixels every \($0.strideWidth)×\($0.strideHeight)"
            } ?? "whole frames")
        return WanStagePlan(
            stage: .decode, tactic: tactic, weightBytes: weights, carriedBytes: 0, peakBytes: weights + call.peakBytes,
            largestBufferBytes: max(
                call.largestBufferBytes, largestTensorBytes(vae.weights, under: ["decoder.", "post_quant_conv."])))
    }

    // MARK: Helpers

    /// Whole frames, then diffusers' default tiles (256 pixels every 192) and tiles of half, a quarter, … their
    /// size down to 4 latent pixels, among those that split the frame (as `AutoencoderKLWan.streamingTiles`).
    static func tileCandidates(_ vae: AutoencoderKLWan, latentHeight: Int, latentWidth: Int)
        -> [AutoencoderKLWan.TileConfiguration?]
    {
        let s = vae.configuration.spatialCompression
        var candidates: [AutoencoderKLWan.TileConfiguration?] = [nil]
        var tiles = AutoencoderKLWan.TileConfiguration()
        while tiles.sampleHeight >= 4 * s, tiles.sampleWidth >= 4 * s, tiles.strideHeight >= s, tiles.strideWidth >= s {
            if vae.decodeUsesTiles(latentHeight: latentHeight, latentWidth: latentWidth, tiles: tiles) {
                candidates.append(tiles)
            }
            tiles = AutoencoderKLWan.TileConfiguration(
                sampleHeight: tiles.sampleHeight / 2, sampleWidth: tiles.sampleWidth / 2,
                strideHeight: tiles.strideHeight / 2, strideWidth: tiles.strideWidth / 2)
        }
        return candidates
    }

    /// The timesteps of a pass over latents `latent` [B, ...]: one a sample, or with a keyframe Wan 2.2's
    /// first-frame-clean per-token ones.
    static func timestep(_ latent: [Int], _ configuration: WanTransformer3DConfig, _ request: WanGenerationRequest)
        -> WanTimesteps
    {
        guard request.imageToVideo else { return .perSample([Float](repeating: 500, count: latent[0])) }
        let patch = configuration.patchSize
        return .firstFrameClean(
            500, batch: latent[0], frames: latent[2] / patch[0],
            tokensPerFrame: (latent[3] / patch[1]) * (latent[4] / patch[2]))
    }

    /// Trims the device, notes what is live, then builds the stage's model.
    static func fresh<Model>(_ device: GPUDevice, _ make: () throws -> Model) throws -> (start: UInt64, model: Model) {
        device.memory.trim()
        return (device.memory.liveBytes, try make())
    }

    /// Device bytes of the tensors under `prefixes` (a module's `name.` or a tensor's name), each as the allocator
    /// holds it; with `uploaded`, only those uploaded so far.
    static func weightBytes(
        _ weights: DeviceWeights, under prefixes: [String], memory: MemoryAllocator, uploaded: Bool = true
    ) -> UInt64 {
        let names = uploaded ? weights.uploadedNames : Set(weights.store.tensorNames)
        return names.filter { name in prefixes.contains { name == $0 || name.hasPrefix($0) } }.reduce(0) {
            total, name in
            total + memory.allocationSize(for: UInt64((try? weights.store.info(name).byteCount) ?? 0))
        }
    }

    /// Bytes of the largest tensor under `prefixes`.
    static func largestTensorBytes(_ weights: DeviceWeights, under prefixes: [String]) -> UInt64 {
        weights.store.tensorNames.filter { name in prefixes.contains { name == $0 || name.hasPrefix($0) } }
            .map { UInt64((try? weights.store.info($0).byteCount) ?? 0) }.max() ?? 0
    }

    /// `body`, with the allocator refusing an upload while the stage is planned reported as the stage being over
    /// budget (what it asked for on top of what was live).
    static func overBudget<T>(
        _ stage: WanStagePlan.Kind, budget: UInt64, device: GPUDevice, _ body: () throws -> T
    ) throws -> T {
        try overBudget(stage.rawValue, budget: budget, device: device, body)
    }

    /// `overBudget` for a stage by name.
    static func overBudget<T>(
        _ stage: String, budget: UInt64, device: GPUDevice, _ body: () throws -> T
    ) throws -> T {
        do {
            return try body()
        } catch GPUError.outOfMemory(let requested, _, _) {
            let needed = device.memory.liveBytes + requested
            device.memory.trim()
            throw PipelineError.overBudget(needed: needed, budget: budget, stage: stage)
        }
    }
}
