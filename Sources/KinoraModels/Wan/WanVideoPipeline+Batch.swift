import KinoraTensor

/// Several clips denoised together: one transformer pass per step (two with guidance, the halves one after the other
/// as for one clip) over the clips' latents stacked on the batch axis, so the device works on a larger problem and
/// reads the weights once per pass for all of them. Each clip keeps its own seed's noise, prompt embeddings, sampler
/// state and keyframe, so its latents are those of its own denoise: the transformer's kernels compute each row of a
/// batch as they compute it alone (`WanVideoPipelineBatchTests` checks this bit for bit).
extension WanVideoPipeline {
    /// One clip of a batched denoise: what it has of its own beside the shared settings and its row of the
    /// conditioning.
    public struct Clip: Sendable, Equatable {
        /// Seeds the clip's initial noise and its sampler's noise (`TorchRandom`), as `WanVideoSettings.seed` does.
        public var seed: UInt64
        /// Wan 2.2 TI2V's keyframe latent (`imageCondition(_:settings:)`), or nil for text-to-video.
        public var imageCondition: [Float]?

        public init(seed: UInt64, imageCondition: [Float]? = nil) {
            self.seed = seed
            self.imageCondition = imageCondition
        }
    }

    /// The denoising loops of `clips`, which share `settings` (size, frames, steps, sampler, guidance scale; the
    /// scheduler's shift) but for their seeds (`settings.seed` is ignored), prompts and keyframes: `conditioning` holds
    /// clip b's prompt (and negative prompt) embeddings in row b. Per timestep the transformer runs over all the clips'
    /// latents (each with its keyframe's first frame, at t = 0, when it has one), guidance combines each clip's halves
    /// and each clip's sampler steps its own latents. Returns each clip's final latents [1, z_dim, T, h, w], still
    /// normalised, in `clips` order; `progress` gets each step of the whole batch. Clips of at most `Graph.vectorRows`
    /// tokens run one after the other, each step reported with its clip (`Progress.clip`).
    public func denoise(
        _ settings: WanVideoSettings, conditioning: Conditioning, clips: [Clip],
        progress: (Progress) -> Void = { _ in }
    ) throws -> [[Float]] {
        let shape = try latentShape(settings)
        try check(conditioning, clips: clips, settings: settings, shape: shape)
        let batchShape = [clips.count] + shape.dropFirst()
        let patch = transformer.configuration.patchSize
        let tokensPerFrame = (shape[3] / patch[1]) * (shape[4] / patch[2])
        if clips.count > 1, shape[2] / patch[0] * tokensPerFrame <= Graph.vectorRows {
            // A clip this small goes through the linear layers as a product of a few rows, which the matmul sums in
            // another order than the larger product of a batch: one by one, each clip gets its own latents' bits.
            return try clips.indices.map { index in
                try denoise(settings, conditioning: conditioning.row(index, arena: arena), clips: [clips[index]]) {
                    var step = $0
                    step.clip = index
                    progress(step)
                }[0]
            }
        }
        let count = shape.reduce(1, *)
        var states = try clips.map { clip -> (sampler: any Sampler, random: TorchRandom, latents: [Float]) in
            var random = TorchRandom(seed: clip.seed)
            let latents = random.normal(count: count)
            return (try settings.sampler.make(configuration: scheduler, steps: settings.steps), random, latents)
        }
        let steps = states[0].sampler.timesteps.count
        while let t = states[0].sampler.currentTimestep {
            var input: [Float] = []
            input.reserveCapacity(count * clips.count)
            for (clip, state) in zip(clips, states) {
                input += clip.imageCondition.map { Self.replacingFirstFrame(state.latents, with: $0, shape: shape) }
                    ?? state.latents
            }
            let timestep = Self.timesteps(t, clips: clips, frames: shape[2], tokensPerFrame: tokensPerFrame)
            let tensor = try Tensor(input, shape: batchShape, on: arena.device)
            let conditional = try predict(
                tensor, timestep: timestep, text: conditioning.prompt, streamed: settings.streamedTransformer)
            let unconditional = try conditioning.negative.map {
                try predict(tensor, timestep: timestep, text: $0, streamed: settings.streamedTransformer)
            }
            for index in states.indices {
                let rows = (index * count)..<((index + 1) * count)
                var prediction = Array(conditional[rows])
                if let unconditional {
                    prediction = classifierFreeGuidance(
                        unconditional: Array(unconditional[rows]), conditional: prediction,
                        scale: settings.guidanceScale)
                }
                var state = states[index]
                state.latents = try state.sampler.step(prediction, sample: state.latents, noise: &state.random).sample
                states[index] = state
            }
            progress(Progress(step: states[0].sampler.stepIndex, steps: steps, timestep: t))
        }
        return zip(clips, states).map { clip, state in
            clip.imageCondition.map { Self.replacingFirstFrame(state.latents, with: $0, shape: shape) }
                ?? state.latents
        }
    }

    /// A pass's timesteps: the step's t for every clip, or with keyframes per token, a keyframe's first latent
    /// frame at 0 (Wan 2.2's `expand_timesteps`) and every other token at t.
    static func timesteps(_ t: Float, clips: [Clip], frames: Int, tokensPerFrame: Int) -> WanTimesteps {
        guard clips.contains(where: { $0.imageCondition != nil }) else {
            return .perSample([Float](repeating: t, count: clips.count))
        }
        let clean = [Float](repeating: 0, count: tokensPerFrame) + [Float](
            repeating: t, count: (frames - 1) * tokensPerFrame)
        let noisy = [Float](repeating: t, count: frames * tokensPerFrame)
        return .perToken(clips.map { $0.imageCondition == nil ? noisy : clean })
    }

    /// Refuses a batch whose conditioning or keyframes do not fit `settings` and `shape` (one clip's latents), naming
    /// the clip.
    private func check(_ conditioning: Conditioning, clips: [Clip], settings: WanVideoSettings, shape: [Int]) throws {
        guard !clips.isEmpty else {
            throw WanVideoPipelineError.mismatchedComponents(reason: "a batch of no clips")
        }
        guard settings.usesGuidance == (conditioning.negative != nil) else {
            throw WanVideoPipelineError.mismatchedComponents(
                reason: "guidance scale \(settings.guidanceScale) "
                    + (settings.usesGuidance ? "needs a negative prompt's embeddings" : "takes no negative prompt"))
        }
        for (name, tensor) in [("prompt", conditioning.prompt), ("negative prompt", conditioning.negative)] {
            guard let rows = tensor?.shape.first, rows != clips.count else { continue }
            throw WanVideoPipelineError.mismatchedComponents(
                reason: "\(rows) rows of \(name) embeddings for a batch of \(clips.count) clips")
        }
        let frameValues = shape[1] * shape[3] * shape[4]
        for (index, clip) in clips.enumerated() {
            guard let condition = clip.imageCondition else { continue }
            guard expandTimesteps else { throw WanVideoPipelineError.imageNeedsPerTokenTimesteps }
            guard condition.count == frameValues else {
                throw WanVideoPipelineError.invalidImage(
                    reason: (clips.count > 1 ? "clip \(index + 1): " : "")
                        + "a condition of \(condition.count) values for one latent frame of \(frameValues)")
            }
        }
    }
}

extension WanVideoPipeline.Conditioning {
    /// The conditionings of several clips (one row each, of one length) stacked on the batch axis, clip b's in row b,
    /// for `WanVideoPipeline.denoise(_:conditioning:clips:progress:)`: new device tensors, the given ones unchanged.
    /// Throws when their lengths or widths differ, or some have a negative prompt and others not.
    public init(stacking conditionings: [Self], arena: ActivationArena) throws {
        guard let first = conditionings.first else {
            throw WanVideoPipelineError.mismatchedComponents(reason: "no conditionings to stack")
        }
        let guided = first.negative != nil
        guard conditionings.allSatisfy({ ($0.negative != nil) == guided }) else {
            throw WanVideoPipelineError.mismatchedComponents(
                reason: "some clips have a negative prompt's embeddings and others not")
        }
        func stacked(_ tensors: [Tensor]) throws -> Tensor {
            guard tensors.count > 1 else { return tensors[0] }
            let width = Array(tensors[0].shape.dropFirst())
            guard tensors.allSatisfy({ Array($0.shape.dropFirst()) == width }) else {
                throw WanVideoPipelineError.mismatchedComponents(
                    reason: "prompt embeddings of shapes \(tensors.map(\.shape)) cannot be stacked")
            }
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            return try graph.run([graph.concat(tensors.map(graph.input), axis: 0)])[0]
        }
        self.init(
            prompt: try stacked(conditionings.map(\.prompt)),
            negative: guided ? try stacked(conditionings.compactMap(\.negative)) : nil)
    }

    /// Row `index` of a stacked conditioning (clip `index`'s embeddings, [1, L, d_model] each) as new device tensors.
    func row(_ index: Int, arena: ActivationArena) throws -> Self {
        func row(_ tensor: Tensor) throws -> Tensor {
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            return try graph.run([graph.slice(graph.input(tensor), axis: 0, start: index, length: 1)])[0]
        }
        return Self(prompt: try row(prompt), negative: try negative.map(row))
    }
}
