import KinoraFormats
import KinoraGPU
import KinoraTensor

/// Measuring a Stable Diffusion family's figures without running a step: each stage is recorded over stand-in inputs
/// of the real shapes and planned (`GenerationMemory.record`, `Graph.memoryPlan`, which the arena allocates exactly),
/// one component at a time, each released before the next is built. Bytes are counted as the pipeline's own planner
/// counts them (`GenerationMemory.planTextEncoding`, `planDenoise`, `planDecode`):
///
/// - text encoders, per token: the encoder's stage over one 77-token window plus the conditioning it leaves
///   (its outputs once per window), over `windows` windows. Where two encoders run as one stage, that stage's bytes
///   are shared between them in proportion to their own, so the components' figures add up to cover it;
/// - UNet, per latent pixel of each batch item: the batch-1 and batch-2 stages plus the guided conditioning they
///   read (both halves, one window);
/// - VAE, per pixel: the untiled decode over the image's pixels, and each tiled decode the pipeline would run
///   (`GenerationMemory.tileSizes`) less the decoded image, which the planner counts apart, over one tile's pixels.
///   A tiled decode also holds every decoded tile until they are blended, which the planner's tiled formula does
///   not count, so those samples can set the figure.
///
/// The figures stand for GPUs, so the models record their convolutions with `.automatic`: on a CPU driver `.fastest`
/// would add the Winograd workspace, which GPUs never allocate.
extension CatalogActivationFigures {
    /// The parts of a Stable Diffusion model the measurement builds, one at a time.
    struct StableDiffusionSubject {
        /// One text encoder and the token ids of an empty prompt window.
        struct TextEncoder {
            var folder: String
            var configuration: CLIPTextConfig
            var store: any WeightStore
            var withProjection: Bool
            var ids: [Int32]
        }

        var name: String
        var textEncoders: [TextEncoder]
        /// The text encoders' activations (nil: their weights' type).
        var textPrecision: ActivationPrecision?
        /// Image pixels per latent pixel along each side.
        var latentScale: Int
        var makeUNet: () throws -> UNet2DConditionModel
        var makeAutoencoder: () throws -> AutoencoderKL
    }

    /// The figures of a full-size catalogued architecture over random F16 weights, for square images of each of
    /// `sizes` pixels and prompts of each of `windows` windows, with activations in `precision` (nil: the weights'
    /// F16, SDXL's VAE upcast to f32 as its pipeline does).
    public static func measure(_ model: CatalogModel, sizes: [Int], windows: [Int] = [1, 2, 3],
                               precision: ActivationPrecision? = nil, device: GPUDevice)
        throws -> CatalogActivationFigures {
        let encoders = try model.textEncoders().map { encoder in
            StableDiffusionSubject.TextEncoder(folder: encoder.folder, configuration: encoder.configuration,
                                               store: encoder.randomWeights(), withProjection: encoder.withProjection,
                                               ids: CatalogInputs.promptIDs(encoder.configuration))
        }
        let scale = try model.vaeConfiguration().downsamplingFactor
        let subject = StableDiffusionSubject(
            name: model.rawValue, textEncoders: encoders, textPrecision: precision, latentScale: scale,
            makeUNet: { try model.makeUNet(device: device, precision: precision, convolutionStrategy: .automatic) },
            makeAutoencoder: {
                try model.makeAutoencoder(device: device, precision: precision, convolutionStrategy: .automatic)
            })
        return try measure(subject, sizes: sizes, windows: windows,
                           method: "Graph.memoryPlan of recorded stages, random F16 weights"
                               + activationsNote(precision), device: device)
    }

    /// The figures of the model in a diffusers folder (its own weights and configurations), as `measure(_:...)`,
    /// in `precision` as `StableDiffusionPrecision` resolves it for the pipeline (nil: each model its weights' type).
    public static func measure(folder: String, components: StableDiffusionComponents, sizes: [Int],
                               windows: [Int] = [1, 2, 3], precision requested: ActivationPrecision? = nil,
                               device: GPUDevice) throws -> CatalogActivationFigures {
        var encoders = [StableDiffusionSubject.TextEncoder(
            folder: "text_encoder", configuration: components.textEncoder.configuration,
            store: components.textEncoder.store, withProjection: components.textEncoder.withProjection,
            ids: components.tokenizer.window([]).map { Int32($0) })]
        if let second = components.textEncoder2 {
            let tokenizer = components.tokenizer2 ?? components.tokenizer
            encoders.append(StableDiffusionSubject.TextEncoder(
                folder: "text_encoder_2", configuration: second.configuration, store: second.store,
                withProjection: second.withProjection, ids: tokenizer.window([]).map { Int32($0) }))
        }
        let precision = StableDiffusionPrecision(requested, components: components)
        let subject = StableDiffusionSubject(
            name: folder, textEncoders: encoders, textPrecision: precision.textEncoders,
            latentScale: components.vaeConfiguration.downsamplingFactor,
            makeUNet: {
                try UNet2DConditionModel(configuration: components.unetConfiguration,
                                         weights: DeviceWeights(store: components.unetStore, device: device),
                                         precision: precision.unet, convolutionStrategy: .automatic)
            },
            makeAutoencoder: {
                try AutoencoderKL(configuration: components.vaeConfiguration,
                                  weights: DeviceWeights(store: components.vaeStore, device: device),
                                  precision: precision.vae, convolutionStrategy: .automatic)
            })
        return try measure(subject, sizes: sizes, windows: windows,
                           method: "Graph.memoryPlan of recorded stages, the folder's weights"
                               + activationsNote(requested), device: device)
    }

    /// How a measurement's `method` names the activation precision it was asked for: nothing for the default (the
    /// weights' type).
    static func activationsNote(_ precision: ActivationPrecision?) -> String {
        precision.map { ", \($0.rawValue) activations" } ?? ""
    }

    static func measure(_ subject: StableDiffusionSubject, sizes: [Int], windows: [Int], method: String,
                        device: GPUDevice) throws -> CatalogActivationFigures {
        let multiple = subject.latentScale * 8
        if let size = sizes.first(where: { $0 <= 0 || $0 % multiple != 0 }) {
            throw PipelineError.invalidSize(width: size, height: size, multiple: multiple)
        }
        // Each helper builds one component and drops it on return; trimming then hands its weights back.
        let text = try textSamples(subject, windows: windows, device: device)
        device.memory.trim()
        let unet = try unetSamples(subject, sizes: sizes, conditioningBytes: text.conditioningBytes, device: device)
        device.memory.trim()
        let decode = try decodeSamples(subject, sizes: sizes, device: device)
        device.memory.trim()
        return CatalogActivationFigures(model: subject.name, device: device.physical.name, method: method,
                                        samples: text.samples + unet + decode)
    }

    /// A built text encoder: CLIP's text model, or SDXL's second encoder with its projection.
    private enum BuiltEncoder {
        case plain(CLIPTextModel)
        case projecting(CLIPTextModelWithProjection)

        init(_ encoder: StableDiffusionSubject.TextEncoder, precision: ActivationPrecision?, device: GPUDevice) throws {
            let weights = DeviceWeights(store: encoder.store, device: device)
            self = encoder.withProjection
                ? .projecting(try CLIPTextModelWithProjection(configuration: encoder.configuration, weights: weights,
                                                              precision: precision))
                : .plain(try CLIPTextModel(configuration: encoder.configuration, weights: weights,
                                           precision: precision))
        }

        /// The conditioning the pipeline takes from the encoder over `ids`: the last hidden state (SD 1.x, 2.x) or,
        /// when `joint` with another encoder, the penultimate one and, from a projecting encoder, the pooled
        /// embedding (SDXL).
        func record(_ graph: Graph, ids: [Int32], joint: Bool) throws -> [Value] {
            switch self {
            case .projecting(let text):
                let output = try text(graph, inputIDs: [ids])
                return [try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil),
                        output.textEmbeds].compactMap { $0 }
            case .plain(let text):
                let output = try text(graph, inputIDs: [ids])
                return [joint ? try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil)
                              : try text.stableDiffusionPromptEmbeds(graph, output: output, clipSkip: nil)]
            }
        }
    }

    /// The encoders' samples, and the guided conditioning over one window (the text stage's outputs for both
    /// halves) that the UNet reads.
    private static func textSamples(_ subject: StableDiffusionSubject, windows: [Int], device: GPUDevice) throws
        -> (samples: [Sample], conditioningBytes: UInt64) {
        let joint = subject.textEncoders.count > 1
        let models = try subject.textEncoders.map {
            try BuiltEncoder($0, precision: subject.textPrecision, device: device)
        }
        let own = try zip(subject.textEncoders, models).map { encoder, model in
            try GenerationMemory.record(encoder.folder, device: device) { graph in
                try model.record(graph, ids: encoder.ids, joint: joint)
            }.stage
        }
        var samples: [Sample] = []
        for (encoder, stage) in zip(subject.textEncoders, own) {
            for count in windows {
                samples.append(Sample(component: encoder.folder, unit: "per_token", setting: windowsSetting(count),
                                      units: Double(77 * count),
                                      bytes: stage.peakBytes + UInt64(count) * stage.outputBytes))
            }
        }
        guard joint, !own.isEmpty else { return (samples, 2 * (own.first?.outputBytes ?? 0)) }
        let together = try GenerationMemory.record("text encoders", device: device) { graph in
            let outputs = try zip(subject.textEncoders, models).map { encoder, model in
                try model.record(graph, ids: encoder.ids, joint: true)
            }
            // As the pipeline does: the hidden states joined along the channels, then the pooled embedding.
            return [try graph.concat(outputs.map { $0[0] }, axis: -1)] + outputs.flatMap { $0.dropFirst() }
        }.stage
        let ownTotal = own.reduce(0.0) { $0 + Double($1.peakBytes + $1.outputBytes) }
        for (encoder, stage) in zip(subject.textEncoders, own) {
            let share = Double(stage.peakBytes + stage.outputBytes) / ownTotal
            for count in windows {
                let bytes = Double(together.peakBytes + UInt64(count) * together.outputBytes) * share
                samples.append(Sample(component: encoder.folder, unit: "per_token",
                                      setting: windowsSetting(count) + ", its share of the joint stage",
                                      units: Double(77 * count), bytes: UInt64(bytes.rounded(.up))))
            }
        }
        return (samples, 2 * together.outputBytes)
    }

    private static func windowsSetting(_ count: Int) -> String {
        "\(count) window\(count == 1 ? "" : "s") (\(77 * count) tokens)"
    }

    private static func unetSamples(_ subject: StableDiffusionSubject, sizes: [Int], conditioningBytes: UInt64,
                                    device: GPUDevice) throws -> [Sample] {
        let unet = try subject.makeUNet()
        var samples: [Sample] = []
        for size in sizes {
            let edge = size / subject.latentScale
            let stages = try GenerationMemory.unetStages(unet, height: edge, width: edge, device: device)
            for (batch, stage) in [(1, stages.batch1), (2, stages.batch2)] {
                samples.append(Sample(component: "unet", unit: "per_latent_pixel",
                                      setting: "\(size)x\(size), " + (batch == 1 ? "one half" : "guidance batched"),
                                      units: Double(batch * edge * edge),
                                      bytes: conditioningBytes + stage.peakBytes))
            }
        }
        return samples
    }

    private static func decodeSamples(_ subject: StableDiffusionSubject, sizes: [Int], device: GPUDevice) throws
        -> [Sample] {
        let vae = try subject.makeAutoencoder()
        var samples: [Sample] = []
        for size in sizes {
            let edge = size / subject.latentScale
            let tiles = GenerationMemory.tileSizes(vae.configuration, height: edge, width: edge)
            for tile in [nil] + tiles.map(Optional.some) {
                let stage = try GenerationMemory.record("VAE decode", device: device) { graph in
                    let latents = try CatalogInputs.latents(graph, channels: vae.configuration.latentChannels,
                                                            batch: 1, height: edge, width: edge)
                    return [try vae.decodeLatents(graph, latents, tile: tile)]
                }.stage
                if let tile {
                    let image = UInt64(3 * MemoryLayout<Float>.size * size * size)  // the f32 image decode returns
                    let tilePixels = tile * subject.latentScale
                    samples.append(Sample(component: "vae", unit: "per_pixel",
                                          setting: "\(size)x\(size), \(tile)-latent tiles",
                                          units: Double(tilePixels * tilePixels),
                                          bytes: stage.peakBytes - min(image, stage.peakBytes)))
                } else {
                    samples.append(Sample(component: "vae", unit: "per_pixel", setting: "\(size)x\(size), untiled",
                                          units: Double(size * size), bytes: stage.peakBytes))
                }
            }
        }
        return samples
    }
}
