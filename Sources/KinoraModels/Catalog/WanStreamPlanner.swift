import KinoraGPU
import KinoraTensor

/// Plans an autoregressive Wan stream's device memory as `WanStreamRunner` and `kinora video --autoregressive` run
/// it: the prompts encoded with UMT5's layers streamed (`WanMemoryPlanner`'s text stage), the start picture encoded
/// (when there is one), then the stream, where the causal transformer and the VAE's decoder are both resident and
/// each chunk is denoised over the KV cache, added to it and decoded in turn.
///
/// The stream's peak is what stays resident (both models' weights, the prompts, the current prompt's
/// cross-attention keys and values, the VAE's feature cache) plus the KV cache at its largest plus the largest of a
/// denoising pass, the pass that adds a chunk to the cache, and a decode call. The passes are recorded over
/// placeholders of the real shapes and planned (`WanCausalTransformer.plannedPass`); the cache's pieces are
/// followed chunk by chunk as the window keeps them, so with a window the plan is the same for any length.
public enum WanStreamPlanner {
    /// The plan of `request` for `components` on `device`, decoding in whole frames when the stream fits `budget`
    /// (default: the allocator's), else in the first tiles that fit; a plan that does not fit is returned with its
    /// smallest tiles (`WanStreamPlan.checkBudget` refuses it). Bad sizes, chunk and window settings throw before
    /// any work.
    public static func plan(
        _ components: WanStageComponents, _ request: WanStreamRequest, budget: UInt64? = nil, device: GPUDevice
    ) throws -> WanStreamPlan {
        try validate(components, request)
        let budget = budget ?? device.memory.budget
        let memory = device.memory
        let clip = WanGenerationRequest(
            width: request.width, height: request.height, frames: 1, guidance: false,
            promptTokens: request.promptTokens, imageToVideo: request.startPicture, precision: request.precision)
        let promptBytes = UInt64(request.prompts) * WanMemoryPlanner.promptEmbedsBytes(components, memory: memory)
        var text = try WanMemoryPlanner.overBudget(.textEncoding, budget: budget, device: device) {
            try WanMemoryPlanner.textStage(components, clip, device: device)
        }
        // The prompts encoded before the current one stay on the device meanwhile.
        text.peakBytes += promptBytes - WanMemoryPlanner.promptEmbedsBytes(components, memory: memory)
        let keyframe =
            try request.startPicture
            ? WanMemoryPlanner.overBudget(.keyframeEncode, budget: budget, device: device) {
                try WanMemoryPlanner.keyframeStage(components, clip, carried: promptBytes, device: device)
            } : nil
        let (stream, tiles) = try WanMemoryPlanner.overBudget("stream", budget: budget, device: device) {
            try streamStage(components, request, promptBytes: promptBytes, budget: budget, device: device)
        }
        return WanStreamPlan(
            model: components.name, request: request, budget: budget, deviceMaxBufferBytes: memory.maxBufferSize,
            textEncoding: text, keyframeEncode: keyframe, stream: stream,
            decodeTile: tiles.map { [$0.sampleHeight, $0.sampleWidth, $0.strideHeight, $0.strideWidth] })
    }

    /// The stream stage alone, for comparing tactics without planning the text encoding again.
    public static func streamStage(
        _ components: WanStageComponents, _ request: WanStreamRequest, budget: UInt64? = nil, device: GPUDevice
    ) throws -> WanStreamStagePlan {
        try validate(components, request)
        let promptBytes =
            UInt64(request.prompts) * WanMemoryPlanner.promptEmbedsBytes(components, memory: device.memory)
        return try WanMemoryPlanner.overBudget("stream", budget: budget ?? device.memory.budget, device: device) {
            try streamStage(
                components, request, promptBytes: promptBytes, budget: budget ?? device.memory.budget, device: device)
        }.0
    }

    /// The request's window, if any.
    static func window(_ request: WanStreamRequest) throws -> WanAttentionWindow? {
        try request.windowFrames.map { try WanAttentionWindow(frames: $0, sinkFrames: request.sinkFrames) }
    }

    static func validate(_ components: WanStageComponents, _ request: WanStreamRequest) throws {
        _ = try components.latentShape(width: request.width, height: request.height, frames: 1)
        let start = request.startPicture ? 1 : 0
        guard request.chunkFrames >= 1, request.latentFrames >= start + request.chunkFrames,
            (request.latentFrames - start) % request.chunkFrames == 0
        else {
            throw CausalScheduleError.invalid(
                reason: "a stream of \(request.latentFrames) latent frames is not whole chunks of "
                    + "\(request.chunkFrames)" + (start == 1 ? " after its start picture" : ""))
        }
        let rotary = components.transformer.ropeMaxSeqLen
        if let window = try window(request) {
            guard window.frames <= rotary, window.frames > request.chunkFrames else {
                throw CausalScheduleError.invalid(
                    reason: "a window of \(window.frames) latent frames must hold more than a chunk of "
                        + "\(request.chunkFrames) and at most the model's \(rotary) rotary positions")
            }
        } else if request.latentFrames > rotary {
            throw CausalScheduleError.invalid(
                reason: "\(request.latentFrames) latent frames lie past the model's \(rotary) rotary positions; a "
                    + "longer stream needs a window")
        }
        guard (1...UMT5EncoderModel.wanMaxSequenceLength).contains(request.promptTokens), request.prompts >= 1 else {
            throw CausalScheduleError.invalid(
                reason: "\(request.prompts) prompts of \(request.promptTokens) tokens; give 1 to 512 tokens")
        }
    }

    /// The cache's pieces (latent frames each) before each pass that adds a chunk, as the window keeps them: the
    /// one before the largest cache (the latest such, where the most pieces were cut), and the pieces after it.
    static func largestCache(
        _ request: WanStreamRequest, causal: WanCausalTransformer
    ) -> (before: [Int], after: [Int]) {
        var pieces: [Int] = []
        if request.startPicture { pieces = causal.keptPieces([1], chunkFrames: 1).map(\.frames.count) }
        var largest: (before: [Int], after: [Int]) = (pieces, pieces)
        var seen: Set<[Int]> = []
        for _ in 0..<request.chunks {
            // With a window the pieces repeat after a few chunks: the rest of the stream adds nothing new.
            guard seen.insert(pieces).inserted else { break }
            let after = causal.keptPieces(pieces + [request.chunkFrames], chunkFrames: request.chunkFrames)
                .map(\.frames.count)
            if pieces.reduce(0, +) >= largest.before.reduce(0, +) { largest = (pieces, after) }
            pieces = after
        }
        return largest
    }

    static func streamStage(
        _ components: WanStageComponents, _ request: WanStreamRequest, promptBytes: UInt64, budget: UInt64,
        device: GPUDevice
    ) throws -> (WanStreamStagePlan, AutoencoderKLWan.TileConfiguration?) {
        let memory = device.memory
        let latent = try components.latentShape(width: request.width, height: request.height, frames: 1)
        let (height, width) = (latent[3], latent[4])
        let configuration = components.transformer
        let (start, transformer) = try WanMemoryPlanner.fresh(device) { try components.makeTransformer(device: device) }
        defer { memory.trim() }
        let causal = try WanCausalTransformer(
            transformer: transformer, arena: ActivationArena(device: device), cacheType: request.cacheType,
            window: window(request), precision: request.precision)
        let tokens = UMT5EncoderModel.wanMaxSequenceLength
        let (before, after) = largestCache(request, causal: causal)
        let patch = configuration.patchSize
        let tokensPerFrame = (height / patch[1]) * (width / patch[2])
        func cacheBytes(_ pieces: [Int]) -> UInt64 {
            UInt64(2 * configuration.numLayers)
                * pieces.reduce(0) {
                    $0
                        + memory.allocationSize(
                            for: UInt64($1 * tokensPerFrame * configuration.innerDim * request.cacheType.size))
                }
        }
        // The chunk's latents come from the host in f32.
        let chunkBytes = memory.allocationSize(
            for: UInt64(latent[1] * request.chunkFrames * height * width * DType.f32.size))
        // Each recording uploads the weights it reads first; what else it allocates (rotary tables) is its own.
        func planned(_ record: () throws -> (recordedBytes: UInt64, plan: MemoryPlan)) throws
            -> (bytes: UInt64, largest: UInt64)
        {
            let (planned, weights) = try DeviceWeights.uploads(of: [transformer.weights], during: record)
            return (planned.recordedBytes - weights + planned.plan.allocatedPeakBytes, planned.plan.largestBufferBytes)
        }
        let text = try planned { try causal.plannedTextKeyValues(textTokens: tokens) }
        let textKeyValues =
            memory.allocationSize(
                for: UInt64(tokens * configuration.innerDim * causal.activations.size))
            * UInt64(2 * configuration.numLayers)
        func pass(keep: Bool) throws -> (bytes: UInt64, largest: UInt64) {
            let pass = try planned {
                try causal.plannedPass(
                    chunkFrames: request.chunkFrames, height: height, width: width, pieceFrames: before,
                    textTokens: tokens, keep: keep)
            }
            return (chunkBytes + pass.bytes, pass.largest)
        }
        let predict = try pass(keep: false)
        let extend = try pass(keep: true)
        let transformerWeights = memory.liveBytes - start

        let vaeStart = memory.liveBytes
        let vae = try components.makeAutoencoder(device: device)
        let resident = { (decoderWeights: UInt64) in
            transformerWeights + decoderWeights + promptBytes + textKeyValues
        }
        var best: (stage: WanStreamStagePlan, tiles: AutoencoderKLWan.TileConfiguration?)?
        for tiles in WanMemoryPlanner.tileCandidates(vae, latentHeight: height, latentWidth: width) {
            let call = try vae.streamingDecodeMemory(
                latentHeight: height, latentWidth: width, tiles: tiles, cacheType: request.decoderCacheType,
                precision: request.precision)
            let decoderWeights = memory.liveBytes - vaeStart
            let passes: [(String, UInt64)] = [
                (
                    "prompt keys and values",
                    resident(decoderWeights) - textKeyValues + text.bytes
                ),
                ("denoising pass", resident(decoderWeights) + cacheBytes(before) + call.cacheBytes + predict.bytes),
                ("cache pass", resident(decoderWeights) + cacheBytes(before) + call.cacheBytes + extend.bytes),
                ("decode", resident(decoderWeights) + cacheBytes(after) + call.peakBytes),
            ]
            let peak = passes.max { $0.1 < $1.1 }!
            let window =
                request.windowFrames.map { "window of \($0) latent frames, sink \(request.sinkFrames)" }
                ?? "every frame cached"
            let stage = WanStreamStagePlan(
                transformerWeightBytes: transformerWeights, decoderWeightBytes: decoderWeights,
                promptBytes: promptBytes, textKeyValueBytes: textKeyValues, kvCacheBytes: cacheBytes(before),
                kvCacheFrames: before.reduce(0, +), decoderCacheBytes: call.cacheBytes,
                predictPassBytes: predict.bytes, extendPassBytes: extend.bytes, decodeCallBytes: call.peakBytes,
                peakBytes: peak.1, peakPass: peak.0,
                largestBufferBytes: [
                    text.largest, predict.largest, extend.largest, call.largestBufferBytes, chunkBytes,
                    WanMemoryPlanner.largestTensorBytes(transformer.weights, under: [""]),
                    WanMemoryPlanner.largestTensorBytes(vae.weights, under: ["decoder.", "post_quant_conv."]),
                ].max()!,
                tactic: "DiT and VAE decoder resident, \(causal.activations) activations; \(request.cacheType) KV "
                    + "cache, \(window); chunks of "
                    + "\(request.chunkFrames) latent frames; decode one latent frame a call, "
                    + "\(request.decoderCacheType) feature cache, "
                    + (tiles.map {
                        "tiles of \($0.sampleWidth)×\($0.sampleHeight) pixels every "
                            + "\($0.strideWidth)×\($0.strideHeight)"
                    } ?? "whole frames"))
            if stage.peakBytes <= budget { return (stage, tiles) }
            if best == nil || stage.peakBytes < best!.stage.peakBytes { best = (stage, tiles) }
        }
        return (best!.stage, best!.tiles)
    }
}
