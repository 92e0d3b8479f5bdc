import Foundation
import KinoraGPU
import KinoraTensor

/// Runs the stages of a Wan generation once each, as `WanMemoryPlanner` plans them, over stand-in inputs
/// (pseudo-random token ids, embeddings, latents and keyframe), timed and with the allocator's peak measured: each
/// stage starts from a trimmed device, builds its model, runs, and drops it. For benchmarks and for checking the
/// plan against the allocator; the outputs are thrown away.
public struct WanStageRunner {
    /// What one stage's run measured.
    public struct Measurement: Codable, Sendable, Equatable {
        public var stage: WanStagePlan.Kind
        /// Seconds of the whole stage, model building and weight uploads included.
        public var seconds: Double
        /// Seconds of each unit of work, in order: each prompt (text encoding), each denoising step (two passes with
        /// guidance; the first uploads resident weights), each decoded latent frame (the first builds the cache).
        public var unitSeconds: [Double]
        /// The plan's peak for the stage.
        public var predictedPeakBytes: UInt64
        /// The allocator's peak during the stage, above what was live before it.
        public var measuredPeakBytes: UInt64
    }

    public let components: WanStageComponents
    public let plan: WanMemoryPlan
    public let device: GPUDevice

    public init(components: WanStageComponents, plan: WanMemoryPlan, device: GPUDevice) {
        self.components = components
        self.plan = plan
        self.device = device
    }

    /// Runs every stage of the plan in order; `steps` denoising steps (at least 1).
    public func runAll(steps: Int = 2) throws -> [Measurement] {
        try plan.stages.map { stage in
            switch stage.stage {
            case .textEncoding: return try runTextEncoding()
            case .keyframeEncode: return try runKeyframeEncode()
            case .denoise: return try runDenoise(steps: steps)
            case .decode: return try runDecode()
            }
        }
    }

    /// The prompt and (with guidance) the negative prompt, `promptTokens` pseudo-random ids each, encoded with the
    /// layers streamed, each kept until the stage ends.
    public func runTextEncoding() throws -> Measurement {
        let request = plan.request
        let configuration = components.textEncoder
        return try measure(.textEncoding) { units in
            let encoder = try components.makeTextEncoder(device: device)
            let arena = ActivationArena(device: device)
            var random = SplitMix(seed: 7)
            var embeddings: [Tensor] = []
            for _ in 0..<(request.guidance ? 2 : 1) {
                let ids = (0..<request.promptTokens).map { _ in random.index(configuration.vocabSize) }
                let start = Date()
                embeddings.append(
                    try encoder.wanPromptEmbeds(
                        inputIDs: [ids], attentionMask: [[Int](repeating: 1, count: ids.count)], arena: arena,
                        streamed: true, precision: request.precision))
                arena.trim()
                units.append(Date().timeIntervalSince(start))
            }
            withExtendedLifetime(embeddings) {}
        }
    }

    /// The keyframe (pseudo-random pixels) encoded and normalised as `WanVideoPipeline.imageCondition` does, with the
    /// encoded prompts held.
    public func runKeyframeEncode() throws -> Measurement {
        let request = plan.request
        return try measure(.keyframeEncode) { units in
            let conditioning = try promptEmbeddings()
            let vae = try components.makeAutoencoder(device: device)
            let arena = ActivationArena(device: device)
            var random = SplitMix(seed: 11)
            let shape = [1, vae.configuration.videoChannels, 1, request.height, request.width]
            let video = (0..<shape.reduce(1, *)).map { _ in 2 * random.unit() - 1 }
            let start = Date()
            let graph = Graph(arena: arena)
            graph.activationDType = vae.activationType(request.precision)
            let mean = try vae.encode(graph, graph.input(video, shape: shape)).mean
            _ = try graph.run([vae.normalizeLatents(graph, mean)])[0].floats()
            arena.trim()
            units.append(Date().timeIntervalSince(start))
            withExtendedLifetime(conditioning) {}
        }
    }

    /// `steps` denoising steps' transformer passes over pseudo-random latents and prompt embeddings: one pass a step,
    /// two with guidance (one after the other), with the weights resident or streamed as the plan says; each
    /// prediction is read back to the host, as the sampler takes it.
    public func runDenoise(steps: Int = 2) throws -> Measurement {
        let request = plan.request
        let latent = plan.latentShape
        return try measure(.denoise) { units in
            let conditioning = try promptEmbeddings()
            let transformer = try components.makeTransformer(device: device)
            let arena = ActivationArena(device: device)
            var random = SplitMix(seed: 13)
            let latents = try Tensor(
                (0..<latent.reduce(1, *)).map { _ in random.normal() }, shape: latent, on: device)
            let timestep = WanMemoryPlanner.timestep(latent, components.transformer, request)
            for _ in 0..<max(1, steps) {
                let start = Date()
                for text in conditioning {
                    if plan.streamedTransformer {
                        let inputs = WanTransformerStreamedInputs(
                            hiddenStates: latents, timestep: timestep, encoderHiddenStates: text)
                        _ = try transformer.streamedPrediction(inputs, arena: arena, precision: request.precision)
                            .floats()
                    } else {
                        let graph = Graph(arena: arena)
                        graph.activationDType = transformer.activationType(request.precision)
                        let output = try transformer(
                            graph, hiddenStates: graph.input(latents), timestep: timestep,
                            encoderHiddenStates: graph.input(text))
                        _ = try graph.run([output])[0].floats()
                    }
                    arena.trim()
                }
                units.append(Date().timeIntervalSince(start))
            }
        }
    }

    /// Every latent frame of the clip (pseudo-random latents) through the streamed decoder, one frame a call with the
    /// feature cache carried, whole or in the plan's tiles; each call's video frames read back to the host.
    public func runDecode() throws -> Measurement {
        let latent = plan.latentShape
        return try measure(.decode) { units in
            let vae = try components.makeAutoencoder(device: device)
            let arena = ActivationArena(device: device)
            let decoder = WanVAEStreamingDecoder(
                vae: vae, arena: arena, tiles: plan.tiles, cacheType: vae.activationType(plan.request.precision),
                precision: plan.request.precision)
            var random = SplitMix(seed: 17)
            let frame = [latent[0], latent[1], 1, latent[3], latent[4]]
            for _ in 0..<latent[2] {
                let values = (0..<frame.reduce(1, *)).map { _ in random.normal() }
                let start = Date()
                _ = try decoder.decode(Tensor(values, shape: frame, on: device)).floats()
                arena.trim()
                units.append(Date().timeIntervalSince(start))
            }
        }
    }

    /// The encoded prompts a stage after the text encoding holds: [B, 512, d_model] each, pseudo-random.
    private func promptEmbeddings() throws -> [Tensor] {
        var random = SplitMix(seed: 5)
        // One row a clip: a plan of a batched denoise (`WanMemoryPlanner.batchedDenoise`) has a batch of latents.
        let shape = [plan.latentShape[0], UMT5EncoderModel.wanMaxSequenceLength, components.textEncoder.dModel]
        return try (0..<(plan.request.guidance ? 2 : 1)).map { _ in
            try Tensor((0..<shape.reduce(1, *)).map { _ in 0.1 * random.normal() }, shape: shape, on: device)
        }
    }

    /// Runs `body` from a trimmed device and measures it against the plan's stage.
    private func measure(_ kind: WanStagePlan.Kind, _ body: (inout [Double]) throws -> Void) throws -> Measurement {
        guard let stage = plan.stage(kind) else {
            throw WanMemoryPlanError.stageNotPlanned(stage: kind.rawValue)
        }
        let memory = device.memory
        memory.trim()
        let before = memory.liveBytes
        memory.resetPeak()
        var units: [Double] = []
        let start = Date()
        try body(&units)
        let seconds = Date().timeIntervalSince(start)
        let peak = memory.peakBytes
        memory.trim()
        return Measurement(
            stage: kind, seconds: seconds, unitSeconds: units, predictedPeakBytes: stage.peakBytes,
            measuredPeakBytes: peak - min(peak, before))
    }
}

/// SplitMix64: deterministic stand-in values for benchmark inputs.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// An index in 0..<count.
    mutating func index(_ count: Int) -> Int { Int(next() % UInt64(count)) }

    /// Approximately standard normal (the sum of four uniforms, rescaled).
    mutating func normal() -> Float { (unit() + unit() + unit() + unit() - 2) * 1.7320508 }
}
