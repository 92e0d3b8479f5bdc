import Foundation
import KinoraGPU
import KinoraTensor

/// Text to image with a Stable Diffusion 1.x, 2.x or SDXL checkpoint in a diffusers folder, step for step as
/// diffusers' `StableDiffusionPipeline` / `StableDiffusionXLPipeline` run it.
///
/// The prompt is encoded once; each step runs the UNet (conditional and unconditional halves batched together
/// when the budget allows, one after the other otherwise), combines them with classifier-free guidance and lets
/// the sampler advance the latents; the VAE decodes at the end, tiled when needed.
public final class StableDiffusionPipeline: @unchecked Sendable {
    /// Where a step is, for progress reporting.
    public struct Progress: Sendable {
        public var step: Int
        public var steps: Int
    }

    /// What the pipeline found in the folder.
    public enum Family: String, Sendable {
        case stableDiffusion = "sd"
        case stableDiffusionXL = "sdxl"
    }

    public let family: Family
    public let device: GPUDevice
    let tokenizer: CLIPTokenizer
    let textEncoder: CLIPTextModel
    let tokenizer2: CLIPTokenizer?
    let textEncoder2: CLIPTextModelWithProjection?
    let unet: UNet2DConditionModel
    let vae: AutoencoderKL
    let schedulerConfiguration: SchedulerConfiguration
    let arena: ActivationArena
    /// SDXL's `force_zeros_for_empty_prompt`: without a negative prompt (diffusers' `negative_prompt=None`) the
    /// unconditional half is conditioned on zeros rather than on the encoding of "".
    let zerosForEmptyNegative: Bool

    /// Opens a diffusers folder (`model_index.json` with `tokenizer`, `text_encoder`, `unet`, `vae`, `scheduler`
    /// and, for SDXL, `tokenizer_2` and `text_encoder_2`). Weights stay memory-mapped and upload on first use.
    public init(folder: URL, device: GPUDevice) throws {
        self.device = device
        let index = folder.appending(path: "model_index.json")
        guard FileManager.default.fileExists(atPath: index.path) else {
            throw PipelineError.notADiffusersFolder(folder.path)
        }
        let indexObject = (try? JSONSerialization.jsonObject(with: Data(contentsOf: index))) as? [String: Any] ?? [:]
        zerosForEmptyNegative = indexObject["force_zeros_for_empty_prompt"] as? Bool ?? false
        func encoder(_ name: String) throws -> (CLIPTextConfig, DeviceWeights) {
            let directory = folder.appending(path: name)
            let configuration = try CLIPTextConfig.load(from: directory.appending(path: "config.json"))
            return (configuration, DeviceWeights(store: try WeightFolder.open(directory), device: device))
        }
        tokenizer = try CLIPTokenizer(folder: folder.appending(path: "tokenizer"))
        let (textConfiguration, textWeights) = try encoder("text_encoder")
        textEncoder = try CLIPTextModel(configuration: textConfiguration, weights: textWeights)
        if FileManager.default.fileExists(atPath: folder.appending(path: "text_encoder_2").path) {
            family = .stableDiffusionXL
            tokenizer2 = try CLIPTokenizer(folder: folder.appending(path: "tokenizer_2"))
            let (configuration, weights) = try encoder("text_encoder_2")
            textEncoder2 = try CLIPTextModelWithProjection(configuration: configuration, weights: weights)
        } else {
            family = .stableDiffusion
            tokenizer2 = nil
            textEncoder2 = nil
        }
        let unetFolder = folder.appending(path: "unet")
        unet = try UNet2DConditionModel(
            configuration: UNet2DConditionConfig(contentsOf: unetFolder.appending(path: "config.json")),
            weights: DeviceWeights(store: try WeightFolder.open(unetFolder), device: device))
        let vaeFolder = folder.appending(path: "vae")
        vae = try AutoencoderKL(
            configuration: AutoencoderKLConfiguration.load(from: vaeFolder.appending(path: "config.json")),
            weights: DeviceWeights(store: try WeightFolder.open(vaeFolder), device: device))
        schedulerConfiguration = try SchedulerConfiguration(
            contentsOf: folder.appending(path: "scheduler/scheduler_config.json"))
        arena = ActivationArena(device: device)
    }

    /// The image size the checkpoint was trained for (512 for SD 1.x, 768 for SD 2.x-v, 1024 for SDXL).
    public var nativeSize: Int { unet.configuration.sampleSize * latentScale }

    /// The VAE's downsampling factor: image pixels per latent pixel.
    public var latentScale: Int { vae.configuration.downsamplingFactor }

    /// Generates an image: RGB in [0, 1], channel-planar [3, height, width]. With `initImage` (the same layout and
    /// size) it runs image-to-image as diffusers' img2img pipelines do: the image is encoded, its latent sampled and
    /// noised to the level where `settings.strength` of the schedule remains, and only those steps run.
    public func generate(_ settings: GenerationSettings, initImage: [Float]? = nil,
                         progress: (Progress) -> Void = { _ in }) throws -> [Float] {
        try validate(settings)
        let latentHeight = settings.height / latentScale, latentWidth = settings.width / latentScale
        let channels = unet.configuration.inChannels
        let guided = settings.guidanceScale > 1
        let batched = guided && fitsBatched(height: latentHeight, width: latentWidth)
        try checkBudget(batch: batched ? 2 : 1, height: latentHeight, width: latentWidth)

        let conditioning = try encodePrompts(settings, guided: guided, settings.width, settings.height)
        var sampler = try settings.sampler.make(configuration: schedulerConfiguration, steps: settings.steps)
        var noise = TorchRandom(seed: settings.seed)
        let shape = [1, channels, latentHeight, latentWidth]
        var latents: [Float]
        if let initImage {
            guard initImage.count == 3 * settings.width * settings.height else {
                throw PipelineError.initImageSize(values: initImage.count, width: settings.width,
                                                  height: settings.height)
            }
            guard (0...1).contains(settings.strength) else { throw PipelineError.invalidStrength(settings.strength) }
            let original = try encodeImage(initImage, width: settings.width, height: settings.height, noise: &noise)
            latents = try sampler.startImageToImage(original: original, noise: noise.normal(count: original.count),
                                                    strength: settings.strength)
        } else {
            latents = sampler.initialLatents(&noise, count: channels * latentHeight * latentWidth)
        }
        let evaluations = sampler.timesteps.count
        var evaluation = 0
        while let timestep = sampler.currentTimestep {
            let input = sampler.scaleModelInput(latents)
            let prediction: [Float]
            if guided {
                let (unconditional, conditional) = batched
                    ? try predictBatched(input, shape: shape, timestep: timestep, conditioning: conditioning)
                    : (try predict(input, shape: shape, timestep: timestep, conditioning: conditioning.unconditional!),
                       try predict(input, shape: shape, timestep: timestep, conditioning: conditioning.conditional))
                prediction = classifierFreeGuidance(unconditional: unconditional, conditional: conditional,
                                                    scale: settings.guidanceScale)
            } else {
                prediction = try predict(input, shape: shape, timestep: timestep,
                                         conditioning: conditioning.conditional)
            }
            latents = try sampler.step(prediction, sample: latents, noise: &noise).sample
            evaluation += 1
            progress(Progress(step: evaluation, steps: evaluations))
        }
        return try decode(latents, shape: shape, tiling: settings.vaeTiling)
    }

    /// The text conditioning for `prompt`: hidden states [1, 77 · windows, width] and, for SDXL, the pooled
    /// embedding. Prompt weighting (`(word:1.3)`, `[word]`) and prompts longer than one window are applied.
    public func textConditioning(_ prompt: String, clipSkip: Int? = nil) throws
        -> (hiddenStates: Tensor, pooled: Tensor?) {
        let windows = PromptWeighting.windows(prompt, tokenizer: tokenizer)
        let conditioning = try encode(prompt, windows: windows, count: windows.count, clipSkip: clipSkip, timeIds: [])
        return (conditioning.hiddenStates, conditioning.pooled)
    }

    // MARK: Steps

    struct Conditioning {
        var hiddenStates: Tensor
        var pooled: Tensor?
        var timeIds: [Float]
    }

    struct Conditionings {
        var conditional: Conditioning
        var unconditional: Conditioning?
    }

    private func encodePrompts(_ settings: GenerationSettings, guided: Bool, _ width: Int, _ height: Int) throws
        -> Conditionings {
        let timeIds = [Float(height), Float(width), 0, 0, Float(height), Float(width)]
        let positive = PromptWeighting.windows(settings.prompt, tokenizer: tokenizer)
        let negative = PromptWeighting.windows(settings.negativePrompt, tokenizer: tokenizer)
        // Both halves of a guided step need the same text length: the shorter prompt gets empty windows.
        let windows = guided ? max(positive.count, negative.count) : positive.count
        let conditional = try encode(settings.prompt, windows: positive, count: windows, clipSkip: settings.clipSkip,
                                     timeIds: timeIds)
        guard guided else { return Conditionings(conditional: conditional, unconditional: nil) }
        if family == .stableDiffusionXL && zerosForEmptyNegative && settings.negativePrompt.isEmpty {
            let zeros = Conditioning(
                hiddenStates: try Tensor([Float](repeating: 0, count: conditional.hiddenStates.count),
                                         shape: conditional.hiddenStates.shape, on: device),
                pooled: try conditional.pooled.map {
                    try Tensor([Float](repeating: 0, count: $0.count), shape: $0.shape, on: device)
                },
                timeIds: timeIds)
            return Conditionings(conditional: conditional, unconditional: zeros)
        }
        let unconditional = try encode(settings.negativePrompt, windows: negative, count: windows,
                                       clipSkip: settings.clipSkip, timeIds: timeIds)
        return Conditionings(conditional: conditional, unconditional: unconditional)
    }

    /// Encodes `prompt`, already split into `windows` by the first tokenizer (75 tokens each, `BREAK` starting a new
    /// one, as A1111 and ComfyUI do), applies its attention weights, and joins the windows along the sequence,
    /// padded with empty ones to `count`. The pooled SDXL embedding comes from the first window.
    private func encode(_ prompt: String, windows: [WeightedWindow], count: Int, clipSkip: Int?, timeIds: [Float])
        throws -> Conditioning {
        var first = windows
        var second = tokenizer2.map { PromptWeighting.windows(prompt, tokenizer: $0) }
        let empty = PromptWeighting.windows("", tokenizer: tokenizer)[0]
        while first.count < count { first.append(empty) }
        if let tokenizer2, var padded = second {
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
        guard states.count > 1 else { return Conditioning(hiddenStates: states[0], pooled: pooled, timeIds: timeIds) }
        let graph = Graph(arena: arena)
        let joined = try graph.concat(states.map(graph.input), axis: 1)
        return Conditioning(hiddenStates: try graph.run([joined])[0], pooled: pooled, timeIds: timeIds)
    }

    private func encodeWindow(_ window: WeightedWindow, _ second: WeightedWindow?, clipSkip: Int?) throws
        -> (Tensor, Tensor?) {
        let graph = Graph(arena: arena)
        let output = try textEncoder(graph, inputIDs: [window.ids.map { Int32($0) }])
        guard let second, let textEncoder2 else {
            let states = try textEncoder.stableDiffusionPromptEmbeds(graph, output: output, clipSkip: clipSkip)
            return (try graph.run([states])[0], nil)
        }
        let output2 = try textEncoder2(graph, inputIDs: [second.ids.map { Int32($0) }])
        let states = try graph.concat([
            CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: clipSkip),
            CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output2, clipSkip: clipSkip),
        ], axis: -1)
        guard let pooled = output2.textEmbeds else { throw PipelineError.missingProjection }
        let results = try graph.run([states, pooled])
        return (results[0], results[1])
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

    private func predict(_ latents: [Float], shape: [Int], timestep: Float, conditioning: Conditioning) throws
        -> [Float] {
        let graph = Graph(arena: arena)
        let sample = try graph.input(latents, shape: shape)
        let added = conditioning.pooled.map {
            UNetAddedConditions(textEmbeds: graph.input($0), timeIds: conditioning.timeIds)
        }
        let output = try unet(graph, sample: sample, timestep: timestep,
                              encoderHiddenStates: graph.input(conditioning.hiddenStates), addedConditions: added)
        return try graph.run([output])[0].floats()
    }

    /// Both halves in one UNet pass of batch 2 (unconditional first, as diffusers concatenates them).
    private func predictBatched(_ latents: [Float], shape: [Int], timestep: Float, conditioning: Conditionings)
        throws -> ([Float], [Float]) {
        guard let unconditional = conditioning.unconditional else { throw PipelineError.missingProjection }
        let conditional = conditioning.conditional
        let graph = Graph(arena: arena)
        let sample = try graph.input(latents + latents, shape: [2] + shape.dropFirst())
        let states = try graph.concat([graph.input(unconditional.hiddenStates), graph.input(conditional.hiddenStates)],
                                      axis: 0)
        var added: UNetAddedConditions?
        if let pooledUnconditional = unconditional.pooled, let pooledConditional = conditional.pooled {
            added = UNetAddedConditions(
                textEmbeds: try graph.concat([graph.input(pooledUnconditional), graph.input(pooledConditional)],
                                             axis: 0),
                timeIds: unconditional.timeIds + conditional.timeIds)
        }
        let output = try unet(graph, sample: sample, timestep: timestep, encoderHiddenStates: states,
                              addedConditions: added)
        let values = try graph.run([output])[0].floats()
        let half = values.count / 2
        return (Array(values[..<half]), Array(values[half...]))
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

    private func decode(_ latents: [Float], shape: [Int], tiling: AutoencoderKL.Tiling) throws -> [Float] {
        let graph = Graph(arena: arena)
        let z = try vae.unscaleLatents(graph, graph.input(latents, shape: shape))
        let image = try vae.decode(graph, z, tiling: tiling)
        // diffusers' postprocess: (x / 2 + 0.5).clamp(0, 1).
        let normalized = try graph.scale(image, by: 0.5, offset: 0.5)
        let values = try graph.run([normalized])[0].floats()
        return values.map { min(max($0, 0), 1) }
    }

    // MARK: Checks

    private func validate(_ settings: GenerationSettings) throws {
        guard settings.width > 0, settings.height > 0, settings.width % latentScale == 0,
              settings.height % latentScale == 0 else {
            throw PipelineError.invalidSize(width: settings.width, height: settings.height, multiple: latentScale)
        }
        guard settings.steps >= 1 else { throw PipelineError.invalidSteps(settings.steps) }
    }

    /// Whether a batch-2 UNet pass fits next to what is already resident.
    private func fitsBatched(height: Int, width: Int) -> Bool {
        let memory = device.memory
        let needed = UInt64(unet.activationBytes(batch: 2, height: height, width: width))
        return memory.liveBytes + UInt64(max(0, unet.weightBytes - unet.weights.uploadedBytes)) + needed
            <= memory.budget
    }

    /// Fails before any step runs when the weights plus the largest stage's activations exceed the budget.
    private func checkBudget(batch: Int, height: Int, width: Int) throws {
        let unetPeak = UInt64(unet.weightBytes + unet.activationBytes(batch: batch, height: height, width: width))
        let decodePeak = vae.decodeUsesTiles(height: height, width: width, tiling: .auto)
            ? UInt64(0) : vae.decodeActivationBytes(height: height, width: width)
        let needed = unetPeak + decodePeak
        let budget = device.memory.budget
        guard needed <= budget else {
            throw PipelineError.overBudget(needed: needed, budget: budget)
        }
    }
}

/// Why a generation could not start.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    case notADiffusersFolder(String)
    case missingProjection
    case invalidSize(width: Int, height: Int, multiple: Int)
    case invalidSteps(Int)
    case overBudget(needed: UInt64, budget: UInt64)
    case initImageSize(values: Int, width: Int, height: Int)
    case invalidStrength(Double)

    public var description: String {
        switch self {
        case .notADiffusersFolder(let path):
            return "\(path) is not a diffusers model folder (no model_index.json)"
        case .missingProjection:
            return "the second text encoder has no text_projection (not an SDXL CLIPTextModelWithProjection)"
        case .invalidSize(let width, let height, let multiple):
            return "image size \(width)×\(height) must be positive multiples of \(multiple)"
        case .invalidSteps(let steps):
            return "steps must be at least 1, got \(steps)"
        case .initImageSize(let values, let width, let height):
            return "the initial image has \(values / 3) pixels but the generation is \(width)×\(height)"
        case .invalidStrength(let strength):
            return "strength must be between 0 and 1, got \(strength)"
        case .overBudget(let needed, let budget):
            return "this generation needs about \(ByteCount(needed)) of device memory but the budget is "
                + "\(ByteCount(budget)); lower the size, or raise --vram"
        }
    }
}
