import Foundation
import KinoraGPU
import KinoraTensor

/// Text to image with a Stable Diffusion 1.x, 2.x or SDXL checkpoint (a diffusers folder or a single file), step
/// for step as diffusers' `StableDiffusionPipeline` / `StableDiffusionXLPipeline` run it.
///
/// Before anything runs, the generation's memory is planned (`GenerationMemory`): every stage is recorded over
/// stand-in inputs and the tactics chosen for the device budget, or the request is refused naming the stage that
/// does not fit. The prompt is then encoded once (the text encoders released afterwards when that is what makes the
/// rest fit); each step runs the UNet (conditional and unconditional halves batched together when the budget allows,
/// one after the other otherwise), combines them with classifier-free guidance and lets the sampler advance the
/// latents; the VAE decodes at the end, tiled with the largest tile that fits when the whole image does not. The
/// activation arena is trimmed between stages.
///
/// A staged workflow runs the three stages as separate calls, each planned on its own: `encodePrompts` (to a
/// `PromptConditioning` it can store), `denoise` (to latents) and `decode`. `run` is their composition.
public final class StableDiffusionPipeline: @unchecked Sendable {
    /// Where a step is, for progress reporting.
    public struct Progress: Sendable {
        public var step: Int
        public var steps: Int
        /// In a batched denoise that runs its pictures one by one, the index of the picture this step is of; nil
        /// when the step is of every picture.
        public var picture: Int?
    }

    /// Which pipeline the checkpoint runs in.
    public enum Family: String, Sendable {
        case stableDiffusion = "sd"
        case stableDiffusionXL = "sdxl"
    }

    /// What one generation produced.
    public struct Generation: Sendable {
        /// The final latents [1, channels, height / f, width / f], as diffusers' `output_type="latent"` returns them.
        public var latents: [Float]
        /// RGB in [0, 1], channel-planar [3, height, width].
        public var image: [Float]
        /// The memory tactics it ran with.
        public var memoryPlan: GenerationMemoryPlan
    }

    /// The text encoders while they are on the device.
    struct TextEncoders {
        var textEncoder: CLIPTextModel
        var textEncoder2: CLIPTextModelWithProjection?
    }

    public let family: Family
    public let device: GPUDevice
    public let components: StableDiffusionComponents
    /// The activation precision each model runs in (`--precision`, by default each model's weights' type).
    public let precision: StableDiffusionPrecision
    /// How the UNet and the VAE compute their convolutions (by default `.fastest`: Winograd on CPU drivers,
    /// `.automatic` on GPUs; see `UNet2DConditionModel.convolutionStrategy`).
    public let convolutionStrategy: ConvolutionStrategy
    /// Rebuilt over fresh `DeviceWeights` by `releaseUNet()`, which drops the uploaded tensors.
    private(set) var unet: UNet2DConditionModel
    /// Rebuilt over fresh `DeviceWeights` by `releaseVAE()`, which drops the uploaded tensors.
    private(set) var vae: AutoencoderKL
    let arena: ActivationArena
    /// Loaded on first use; nil again after a generation whose plan released them.
    var textEncoders: TextEncoders?
    /// Device bytes the text encoders held when last loaded.
    var textEncoderBytes: UInt64 = 0

    /// Builds the pipeline over `components`; weights stay memory-mapped and upload on first use. The models'
    /// activations run in `precision` (nil: each model in its weights' type, as diffusers' `torch_dtype`; see
    /// `StableDiffusionPrecision` for the VAE upcast SDXL's pipelines make), their convolutions by
    /// `convolutionStrategy`.
    public init(components: StableDiffusionComponents, device: GPUDevice, precision: ActivationPrecision? = nil,
                convolutionStrategy: ConvolutionStrategy = .fastest) throws {
        self.components = components
        self.convolutionStrategy = convolutionStrategy
        self.device = device
        self.precision = StableDiffusionPrecision(precision, components: components)
        family = components.textEncoder2 == nil ? .stableDiffusion : .stableDiffusionXL
        unet = try Self.makeUNet(components, device: device, precision: self.precision.unet,
                                 convolutionStrategy: convolutionStrategy)
        vae = try Self.makeVAE(components, device: device, precision: self.precision.vae,
                               convolutionStrategy: convolutionStrategy)
        arena = ActivationArena(device: device)
    }

    private static func makeUNet(_ components: StableDiffusionComponents, device: GPUDevice,
                                 precision: ActivationPrecision, convolutionStrategy: ConvolutionStrategy) throws
        -> UNet2DConditionModel {
        try UNet2DConditionModel(configuration: components.unetConfiguration,
                                 weights: DeviceWeights(store: components.unetStore, device: device,
                                                         patches: components.unetPatches),
                                 precision: precision, convolutionStrategy: convolutionStrategy)
    }

    private static func makeVAE(_ components: StableDiffusionComponents, device: GPUDevice,
                                precision: ActivationPrecision, convolutionStrategy: ConvolutionStrategy) throws
        -> AutoencoderKL {
        try AutoencoderKL(configuration: components.vaeConfiguration,
                          weights: DeviceWeights(store: components.vaeStore, device: device), precision: precision,
                          convolutionStrategy: convolutionStrategy)
    }

    /// Opens a diffusers folder (see `StableDiffusionComponents.init(folder:)`).
    public convenience init(folder: URL, device: GPUDevice, precision: ActivationPrecision? = nil,
                            convolutionStrategy: ConvolutionStrategy = .fastest) throws {
        try self.init(components: StableDiffusionComponents(folder: folder), device: device, precision: precision,
                      convolutionStrategy: convolutionStrategy)
    }

    /// Opens an A1111/ComfyUI single-file checkpoint (see `StableDiffusionComponents.init(singleFile:options:)`).
    public convenience init(singleFile: URL, options: SingleFileOptions = SingleFileOptions(), device: GPUDevice,
                            precision: ActivationPrecision? = nil) throws {
        try self.init(components: StableDiffusionComponents(singleFile: singleFile, options: options), device: device,
                      precision: precision)
    }

    /// The family the checkpoint belongs to (SD 1.x, SD 2.x, SDXL).
    public var modelFamily: ModelFamily { components.family }

    /// The image size the checkpoint was trained for (512 for SD 1.x, 768 for SD 2.x-v, 1024 for SDXL).
    public var nativeSize: Int { unet.configuration.sampleSize * latentScale }

    /// The VAE's downsampling factor: image pixels per latent pixel.
    public var latentScale: Int { vae.configuration.downsamplingFactor }

    /// Generates an image: RGB in [0, 1], channel-planar [3, height, width]. With `initImage` (the same layout and
    /// size) it runs image-to-image as diffusers' img2img pipelines do: the image is encoded, its latent sampled and
    /// noised to the level where `settings.strength` of the schedule remains, and only those steps run.
    public func generate(_ settings: GenerationSettings, initImage: [Float]? = nil,
                         progress: (Progress) -> Void = { _ in }) throws -> [Float] {
        try run(settings, initImage: initImage, progress: progress).image
    }

    /// `generate`, also returning the final latents and the memory plan it ran with: `encodePrompts`, `denoise` and
    /// `decode` in turn, under one plan made for the whole generation before anything runs. Throws
    /// `PipelineError.overBudget` before any step when no tactic fits the device budget.
    public func run(_ settings: GenerationSettings, initImage: [Float]? = nil,
                    progress: (Progress) -> Void = { _ in }) throws -> Generation {
        try validate(settings)
        try validate(initImage: initImage, settings)
        let plan = try planMemory(settings)
        let conditioning = try encodePrompts(settings, guided: settings.guidanceScale > 1)
        if plan.releaseTextEncoders { textEncoders = nil }
        trimStage()
        let latents = try denoise(settings, conditioning: conditioning, initImage: initImage, plan: plan,
                                  progress: progress)
        trimStage()
        let image = try decode(latents, shape: latentShape(settings), tile: plan.decodeTileLatentSize)
        trimStage()
        return Generation(latents: latents, image: image, memoryPlan: plan)
    }

    /// Encodes the prompt and, with guidance, the negative prompt on their own (the encode-text stage of a staged
    /// workflow), padded to the same number of windows, as a generation with `settings` would. Throws
    /// `PipelineError.overBudget` before encoding when the text encoders and their output do not fit next to what is
    /// resident. The text encoders stay loaded (`releaseTextEncoders()` frees them).
    public func encodePrompts(_ settings: GenerationSettings) throws -> PromptConditioning {
        try validate(settings)
        _ = try planTextEncoding(settings)
        let conditioning = try encodePrompts(settings, guided: settings.guidanceScale > 1)
        trimStage()
        return conditioning
    }

    /// Runs the sampling loop on its own (the denoise stage of a staged workflow) over `conditioning` from
    /// `encodePrompts`, and returns the final latents [1, channels, height / f, width / f], bit for bit those of
    /// `run` with the same settings. With `initImage` it runs image-to-image as `generate` does. Planned on its own
    /// before any step: the UNet (and, for image-to-image, the VAE) next to what is resident and the conditioning,
    /// guidance halves batched when that fits, else one after the other; the text encoders are not loaded. Throws
    /// `PipelineError.invalidConditioning` for conditioning this checkpoint or `settings` cannot take.
    public func denoise(_ settings: GenerationSettings, conditioning: PromptConditioning, initImage: [Float]? = nil,
                        progress: (Progress) -> Void = { _ in }) throws -> [Float] {
        try validate(settings)
        try validate(initImage: initImage, settings)
        try validate(conditioning, guided: settings.guidanceScale > 1)
        let plan = try planDenoise(settings, tokens: conditioning.tokens,
                                   conditioningBytes: deviceBytes(of: conditioning),
                                   batch: 1, imageToImage: initImage != nil)
        let latents = try denoise(settings, conditioning: conditioning, initImage: initImage, plan: plan,
                                  progress: progress)
        trimStage()
        return latents
    }

    /// One picture of a batched denoise: its prompt conditioning (from `encodePrompts`) and its seed.
    public struct DenoiseRequest: Sendable {
        public var conditioning: PromptConditioning
        public var seed: UInt64

        public init(conditioning: PromptConditioning, seed: UInt64) {
            self.conditioning = conditioning
            self.seed = seed
        }
    }

    /// Runs the sampling loops of several pictures that share `settings` but for their seeds (which `batch` gives;
    /// `settings.seed` is ignored) together: every step is one UNet pass over the whole batch (both guidance halves
    /// of every picture when batched guidance fits), so the device works on larger problems and reads the weights
    /// once per step for all of them. Each picture keeps its own sampler and noise stream, so its latents are those
    /// of its own `denoise` up to the last bits of the batched kernels. Planned before any step for the whole batch
    /// (`batchPlan`); when the batch does not fit the budget, or the prompts have different lengths, the pictures
    /// run one after the other, each planned on its own. Returns the latents in `batch` order.
    public func denoise(_ settings: GenerationSettings, batch: [DenoiseRequest],
                        progress: (Progress) -> Void = { _ in }) throws -> [[Float]] {
        try validate(settings)
        for request in batch { try validate(request.conditioning, guided: settings.guidanceScale > 1) }
        guard let plan = batchPlan(settings, batch: batch) else {
            return try batch.enumerated().map { index, request in
                var single = settings
                single.seed = request.seed
                return try denoise(single, conditioning: request.conditioning) { step in
                    progress(Progress(step: step.step, steps: step.steps, picture: index))
                }
            }
        }
        let latents = try denoise(settings, requests: batch, initImage: nil, plan: plan, progress: progress)
        trimStage()
        return latents
    }

    /// The memory plan `denoise(_:batch:)` runs its pictures together with, or nil when they would run one after
    /// the other (a single picture, prompts of different lengths, or a batch over the budget). With
    /// `WeightStreaming.auto` a resident batch comes first, then resident pictures one by one (streaming costs a
    /// full upload of the weights per pass, more than batching saves), and only when one picture does not fit
    /// resident either, a streamed batch.
    public func batchPlan(_ settings: GenerationSettings, batch: [DenoiseRequest]) -> GenerationMemoryPlan? {
        guard batch.count > 1, Set(batch.map(\.conditioning.tokens)).count == 1 else { return nil }
        let tokens = batch[0].conditioning.tokens
        let plan = { (streaming: WeightStreaming, requests: [DenoiseRequest]) -> GenerationMemoryPlan? in
            var planned = settings
            planned.unetWeightStreaming = streaming
            return try? self.planDenoise(planned, tokens: tokens,
                                         conditioningBytes: requests.reduce(0) {
                                             $0 + self.deviceBytes(of: $1.conditioning)
                                         },
                                         batch: requests.count, imageToImage: false)
        }
        guard settings.unetWeightStreaming == .auto else { return plan(settings.unetWeightStreaming, batch) }
        if let resident = plan(.off, batch) { return resident }
        if plan(.off, [batch[0]]) != nil { return nil }
        return plan(.on, batch)
    }

    /// Whether the text encoders are on the device.
    public var textEncodersLoaded: Bool { textEncoders != nil }

    /// Frees the text encoders' device weights (they load again for the next encoding).
    public func releaseTextEncoders() {
        textEncoders = nil
        trimStage()
    }

    /// Device bytes of the UNet's weights uploaded so far (zero before its first pass and after `releaseUNet()`).
    public var unetUploadedBytes: Int { unet.weights.uploadedBytes }

    /// Device bytes of the VAE's weights uploaded so far (zero before its first use and after `releaseVAE()`).
    public var vaeUploadedBytes: Int { vae.weights.uploadedBytes }

    /// Frees the UNet's device weights; they upload again on its next pass. The text encoders and the VAE stay.
    public func releaseUNet() throws {
        unet = try Self.makeUNet(components, device: device, precision: precision.unet,
                                 convolutionStrategy: convolutionStrategy)
        trimStage()
    }

    /// Frees the VAE's device weights; they upload again on its next use. The text encoders and the UNet stay.
    public func releaseVAE() throws {
        vae = try Self.makeVAE(components, device: device, precision: precision.vae,
                               convolutionStrategy: convolutionStrategy)
        trimStage()
    }

    /// Decodes final latents [1, channels, height / f, width / f] on their own (the decode stage of a staged
    /// workflow), planned as a generation's decode: untiled when that fits the device budget next to what is
    /// resident, else with the largest tile that fits (`GenerationMemory.planDecode`). Returns RGB in [0, 1],
    /// channel-planar [3, height, width], and the plan.
    public func decode(_ latents: [Float], width: Int, height: Int, tiling: AutoencoderKL.Tiling = .auto) throws
        -> (image: [Float], memoryPlan: GenerationMemoryPlan) {
        let shape = [1, vae.configuration.latentChannels, height / latentScale, width / latentScale]
        guard width % latentScale == 0, height % latentScale == 0, latents.count == shape.reduce(1, *) else {
            throw PipelineError.invalidSize(width: width, height: height, multiple: latentScale)
        }
        trimStage()
        let stages = try GenerationMemory.decodeStages(vae, height: shape[2], width: shape[3], device: device)
        device.memory.trim()
        let plan = try GenerationMemory.planDecode(residentBytes: device.memory.liveBytes, untiled: stages.untiled,
                                                   tiled: stages.tiled, budget: device.memory.budget, tiling: tiling)
        let image = try decode(latents, shape: shape, tile: plan.decodeTileLatentSize)
        trimStage()
        return (image, plan)
    }

    /// The text conditioning for `prompt` read with `syntax`: hidden states [1, 77 · windows, width] and, for SDXL,
    /// the pooled embedding. Under `.a1111` prompt weighting (`(word:1.3)`, `[word]`) and prompts longer than one
    /// window are applied; under `.plain` the text is one window, as written.
    public func textConditioning(_ prompt: String, syntax: PromptSyntax = .default, clipSkip: Int? = nil) throws
        -> (hiddenStates: Tensor, pooled: Tensor?) {
        let windows = syntax.windows(prompt, tokenizer: components.tokenizer)
        return try encode(prompt, syntax: syntax, windows: windows, count: windows.count, clipSkip: clipSkip)
    }

    /// Tokens of the prompt and of the negative prompt that `settings.promptSyntax` drops (`.plain` keeps 75, as
    /// diffusers does), for a warning.
    public func droppedPromptTokens(_ settings: GenerationSettings) -> (prompt: Int, negative: Int) {
        let syntax = settings.promptSyntax, tokenizer = components.tokenizer
        return (syntax.droppedTokenCount(settings.prompt, tokenizer: tokenizer),
                syntax.droppedTokenCount(settings.negativePrompt, tokenizer: tokenizer))
    }

    // MARK: Steps

    /// One half's conditioning on the device, as the UNet takes it.
    struct Conditioning {
        var hiddenStates: Tensor
        var pooled: Tensor?
        var timeIds: [Float]
    }

    private func encodePrompts(_ settings: GenerationSettings, guided: Bool) throws -> PromptConditioning {
        let syntax = settings.promptSyntax
        let positive = syntax.windows(settings.prompt, tokenizer: components.tokenizer)
        let negative = syntax.windows(settings.negativePrompt, tokenizer: components.tokenizer)
        // Both halves of a guided step need the same text length: the shorter prompt gets empty windows.
        let windows = guided ? max(positive.count, negative.count) : positive.count
        let conditional = try embedding(encode(settings.prompt, syntax: syntax, windows: positive, count: windows,
                                               clipSkip: settings.clipSkip))
        guard guided else { return PromptConditioning(conditional: conditional) }
        if family == .stableDiffusionXL && components.zerosForEmptyNegative && settings.negativePrompt.isEmpty {
            let zeros = { (values: PromptConditioning.Values) in
                try PromptConditioning.Values([Float](repeating: 0, count: values.values.count), shape: values.shape)
            }
            let unconditional = PromptConditioning.Embedding(hiddenStates: try zeros(conditional.hiddenStates),
                                                             pooled: try conditional.pooled.map(zeros))
            return PromptConditioning(conditional: conditional, unconditional: unconditional)
        }
        let unconditional = try embedding(encode(settings.negativePrompt, syntax: syntax, windows: negative,
                                                 count: windows, clipSkip: settings.clipSkip))
        return PromptConditioning(conditional: conditional, unconditional: unconditional)
    }

    /// Downloads one prompt's conditioning.
    private func embedding(_ encoded: (hiddenStates: Tensor, pooled: Tensor?)) throws -> PromptConditioning.Embedding {
        let values = { (tensor: Tensor) in try PromptConditioning.Values(tensor.floats(), shape: tensor.shape) }
        return PromptConditioning.Embedding(hiddenStates: try values(encoded.hiddenStates),
                                            pooled: try encoded.pooled.map(values))
    }

    /// Uploads one prompt's conditioning in the UNet's activation type (as diffusers casts `prompt_embeds` to the
    /// UNet's dtype), with SDXL's size conditioning for `settings`: original size = target size, no crop
    /// (diffusers' defaults).
    private func upload(_ embedding: PromptConditioning.Embedding, _ settings: GenerationSettings) throws
        -> Conditioning {
        let device = device, dtype = unet.activationDType
        let upload = { (values: PromptConditioning.Values) in
            try Tensor(values.values, shape: values.shape, dtype: dtype, on: device)
        }
        let height = Float(settings.height), width = Float(settings.width)
        return Conditioning(hiddenStates: try upload(embedding.hiddenStates), pooled: try embedding.pooled.map(upload),
                            timeIds: [height, width, 0, 0, height, width])
    }

    /// Device bytes of `conditioning` once uploaded (`upload`): its values in the UNet's activation type.
    private func deviceBytes(of conditioning: PromptConditioning) -> UInt64 {
        conditioning.byteCount / UInt64(MemoryLayout<Float>.size) * UInt64(unet.activationDType.size)
    }

    /// The sampling loop of one picture over planned tactics (`denoise(_:requests:...)` with one request).
    private func denoise(_ settings: GenerationSettings, conditioning: PromptConditioning, initImage: [Float]?,
                         plan: GenerationMemoryPlan, progress: (Progress) -> Void) throws -> [Float] {
        try denoise(settings, requests: [DenoiseRequest(conditioning: conditioning, seed: settings.seed)],
                    initImage: initImage, plan: plan, progress: progress)[0]
    }

    /// One picture's state in the sampling loop.
    private struct SamplingState {
        var conditional: Conditioning
        var unconditional: Conditioning?
        var sampler: any Sampler
        var noise: TorchRandom
        var latents: [Float]
    }

    /// The sampling loop over planned tactics for pictures that share `settings` but for their seeds: each latent
    /// starts from its seeded noise (or the noised initial image), and each step runs the UNet over the batch (its
    /// weights streamed when the plan says so; with batched guidance the rows are each picture's unconditional then
    /// conditional half, else one pass per half), combines the halves with classifier-free guidance and lets each
    /// picture's sampler advance it.
    private func denoise(_ settings: GenerationSettings, requests: [DenoiseRequest], initImage: [Float]?,
                         plan: GenerationMemoryPlan, progress: (Progress) -> Void) throws -> [[Float]] {
        let shape = latentShape(settings)
        var states: [SamplingState] = []
        for request in requests {
            var sampler = try settings.sampler.make(configuration: components.schedulerConfiguration,
                                                    steps: settings.steps)
            var noise = TorchRandom(seed: request.seed)
            var latents: [Float]
            if let initImage {
                let original = try encodeImage(initImage, width: settings.width, height: settings.height,
                                               noise: &noise)
                trimStage()
                latents = try sampler.startImageToImage(original: original, noise: noise.normal(count: original.count),
                                                        strength: settings.strength)
            } else {
                latents = sampler.initialLatents(&noise, count: shape.reduce(1, *))
            }
            states.append(SamplingState(
                conditional: try upload(request.conditioning.conditional, settings),
                unconditional: try request.conditioning.unconditional.map { try upload($0, settings) },
                sampler: sampler, noise: noise, latents: latents))
        }
        guard let first = states.first else { return [] }
        let evaluations = first.sampler.timesteps.count
        let conditional = states.map(\.conditional)
        let unconditional = states.compactMap(\.unconditional)
        let guided = unconditional.count == states.count
        var evaluation = 0
        while let timestep = states[0].sampler.currentTimestep {
            let inputs = states.map { $0.sampler.scaleModelInput($0.latents) }
            let predict = { (rows: [[Float]], halves: [Conditioning]) in
                try self.predict(rows, shape: shape, timestep: timestep, halves: halves, streamed: plan.streamedUNet)
            }
            var predictions = [[Float]]()
            if guided {
                var pairs: [(unconditional: [Float], conditional: [Float])]
                if plan.batchedGuidance {
                    let rows = try predict(inputs.flatMap { [$0, $0] },
                                           zip(unconditional, conditional).flatMap { [$0, $1] })
                    pairs = stride(from: 0, to: rows.count, by: 2).map { (rows[$0], rows[$0 + 1]) }
                } else {
                    pairs = Array(zip(try predict(inputs, unconditional), try predict(inputs, conditional)))
                }
                predictions = pairs.map {
                    classifierFreeGuidance(unconditional: $0.unconditional, conditional: $0.conditional,
                                           scale: settings.guidanceScale)
                }
            } else {
                predictions = try predict(inputs, conditional)
            }
            for index in states.indices {
                var state = states[index]
                state.latents = try state.sampler.step(predictions[index], sample: state.latents,
                                                       noise: &state.noise).sample
                states[index] = state
            }
            evaluation += 1
            progress(Progress(step: evaluation, steps: evaluations))
        }
        return states.map(\.latents)
    }

    /// Encodes `prompt`, already split into `windows` by the first tokenizer as `syntax` reads it (one window under
    /// `.plain`; under `.a1111` 75 tokens each, `BREAK` starting a new one, as A1111 and ComfyUI do), applies its
    /// attention weights, and joins the windows along the sequence, padded with empty ones to `count`. The pooled
    /// SDXL embedding comes from the first window.
    private func encode(_ prompt: String, syntax: PromptSyntax, windows: [WeightedWindow], count: Int,
                        clipSkip: Int?) throws -> (hiddenStates: Tensor, pooled: Tensor?) {
        var first = windows
        var second = components.tokenizer2.map { syntax.windows(prompt, tokenizer: $0) }
        let empty = PromptWeighting.windows("", tokenizer: components.tokenizer)[0]
        while first.count < count { first.append(empty) }
        if let tokenizer2 = components.tokenizer2, var padded = second {
            let emptySecond = PromptWeighting.windows("", tokenizer: tokenizer2)[0]
            while padded.count < count { padded.append(emptySecond) }
            second = padded
        }
        var states: [Tensor] = []
        var pooled: Tensor?
        for (index, window) in first.enumerated() {
            let (windowStates, windowPooled) = try encodeWindow(window, second?[index], clipSkip: clipSkip)
            states.append(try emphasized(windowStates, weights: window.weights))
            if index == 0 { pooled = windowPooled }
        }
        guard states.count > 1 else { return (states[0], pooled) }
        let graph = Graph(arena: arena)
        let joined = try graph.concat(states.map(graph.input), axis: 1)
        return (try graph.run([joined])[0], pooled)
    }

    private func encodeWindow(_ window: WeightedWindow, _ second: WeightedWindow?, clipSkip: Int?) throws
        -> (Tensor, Tensor?) {
        let graph = Graph(arena: arena)
        let outputs = try recordTextEncoding(graph, ids: window.ids.map { Int32($0) },
                                             ids2: second.map { $0.ids.map { Int32($0) } }, clipSkip: clipSkip)
        let results = try graph.run(outputs)
        return (results[0], results.count > 1 ? results[1] : nil)
    }

    /// Records one window's conditioning: the hidden states and, for SDXL, the pooled embedding, in the UNet's
    /// activation type (diffusers casts `prompt_embeds` to the UNet's dtype), which is how `upload` puts them back
    /// on the device, so the text stage's planned outputs are the conditioning's device bytes.
    func recordTextEncoding(_ graph: Graph, ids: [Int32], ids2: [Int32]?, clipSkip: Int?) throws -> [Value] {
        let encoders = try loadedTextEncoders()
        let dtype = unet.activationDType
        let output = try encoders.textEncoder(graph, inputIDs: [ids])
        guard let ids2, let textEncoder2 = encoders.textEncoder2 else {
            return [try graph.cast(encoders.textEncoder.stableDiffusionPromptEmbeds(graph, output: output,
                                                                                    clipSkip: clipSkip), to: dtype)]
        }
        let output2 = try textEncoder2(graph, inputIDs: [ids2])
        let states = try graph.withActivations(dtype) {
            try graph.concat([
                CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: clipSkip),
                CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output2, clipSkip: clipSkip),
            ], axis: -1)
        }
        guard let pooled = output2.textEmbeds else { throw PipelineError.missingProjection }
        return [try graph.cast(states, to: dtype), try graph.cast(pooled, to: dtype)]
    }

    /// The text encoders, built over their stores (weights upload when a forward pass is first recorded).
    func loadedTextEncoders() throws -> TextEncoders {
        if let textEncoders { return textEncoders }
        let first = components.textEncoder
        let loaded = TextEncoders(
            textEncoder: try CLIPTextModel(configuration: first.configuration,
                                           weights: DeviceWeights(store: first.store, device: device,
                                                                  patches: first.patches),
                                           precision: precision.textEncoders),
            textEncoder2: try components.textEncoder2.map {
                try CLIPTextModelWithProjection(configuration: $0.configuration,
                                                weights: DeviceWeights(store: $0.store, device: device,
                                                                       patches: $0.patches),
                                                precision: precision.textEncoders)
            })
        textEncoders = loaded
        return loaded
    }

    /// A1111's emphasis: each token's embedding is multiplied by its weight, then the whole window is rescaled so its
    /// mean is what it was. Windows whose weights are all 1 are returned untouched.
    private func emphasized(_ states: Tensor, weights: [Double]) throws -> Tensor {
        guard weights.contains(where: { $0 != 1 }) else { return states }
        var values = try states.floats()
        let width = values.count / weights.count
        let originalMean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        for (token, weight) in weights.enumerated() {
            for index in token * width..<(token + 1) * width { values[index] = Float(Double(values[index]) * weight) }
        }
        let newMean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        if newMean != 0 {
            let factor = Float(originalMean / newMean)
            values = values.map { $0 * factor }
        }
        return try Tensor(values, shape: states.shape, on: device)
    }

    /// One UNet pass over `rows` (latents of `shape` each), row i conditioned on `halves[i]`, its weights streamed
    /// or resident; returns each row's prediction.
    private func predict(_ rows: [[Float]], shape: [Int], timestep: Float, halves: [Conditioning], streamed: Bool)
        throws -> [[Float]] {
        let batchShape = [rows.count] + shape.dropFirst()
        let pooled = halves.compactMap(\.pooled)
        let timeIds = pooled.isEmpty ? [] : Array(halves.map(\.timeIds).joined())
        let values: [Float]
        if streamed {
            let inputs = UNetStreamedInputs(
                sample: try Tensor(Array(rows.joined()), shape: batchShape, on: device), timestep: timestep,
                encoderHiddenStates: halves.map(\.hiddenStates), textEmbeds: pooled, timeIds: timeIds)
            values = try unet.streamedPrediction(inputs, arena: arena).floats()
        } else {
            let graph = Graph(arena: arena)
            let joined = { (tensors: [Tensor]) in
                tensors.count == 1 ? graph.input(tensors[0]) : try graph.concat(tensors.map(graph.input), axis: 0)
            }
            let added = pooled.isEmpty ? nil : UNetAddedConditions(textEmbeds: try joined(pooled), timeIds: timeIds)
            let output = try unet(graph, sample: graph.input(Array(rows.joined()), shape: batchShape),
                                  timestep: timestep, encoderHiddenStates: joined(halves.map(\.hiddenStates)),
                                  addedConditions: added)
            values = try graph.run([output])[0].floats()
        }
        let size = values.count / rows.count
        return (0..<rows.count).map { Array(values[$0 * size..<($0 + 1) * size]) }
    }

    /// The image's latent as the img2img pipelines take it: a sample of the VAE posterior (its noise drawn first
    /// from the seeded stream), scaled into the denoiser's space.
    private func encodeImage<Noise: NoiseSource>(_ image: [Float], width: Int, height: Int, noise: inout Noise)
        throws -> [Float] {
        let graph = Graph(arena: arena)
        let pixels = try graph.scale(graph.input(image, shape: [1, 3, height, width]), by: 2, offset: -1)
        let (mean, logvar) = try vae.encode(graph, pixels)
        let eps = try graph.input(noise.normal(count: mean.count), shape: mean.shape)
        let z = try vae.scaleLatents(graph, vae.sample(graph, mean: mean, logvar: logvar, noise: eps))
        return try graph.run([z])[0].floats()
    }

    private func decode(_ latents: [Float], shape: [Int], tile: Int?) throws -> [Float] {
        let graph = Graph(arena: arena)
        let image = try vae.decodeLatents(graph, graph.input(latents, shape: shape), tile: tile)
        return try graph.run([image])[0].floats().map { min(max($0, 0), 1) }
    }

    /// Frees the arena's slots and the allocator's empty blocks between stages.
    private func trimStage() {
        arena.trim()
        device.memory.trim()
    }
}
