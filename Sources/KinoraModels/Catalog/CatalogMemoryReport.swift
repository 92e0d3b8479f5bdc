import KinoraGPU
import KinoraTensor

/// Device memory of a catalogued model generating one image of a given size, measured and planned without running
/// a step: each component is built over random F16 weights and its stages recorded (`GenerationMemory`), one
/// component at a time (each one's weights are released before the next is built), and the shared planner
/// (`GenerationMemory.plan`) picks the tactics the pipeline would. The report stands for GPUs, so convolutions are
/// recorded with `.automatic` (no CPU-only Winograd workspace).
public struct CatalogMemoryReport: Codable, Sendable {
    /// One component's weights.
    public struct Weights: Codable, Sendable {
        public var component: String
        /// Bytes of every tensor as a checkpoint stores them (F16).
        public var fileBytes: UInt64
        /// Growth of the allocator's live bytes that stayed after the component's graphs were recorded: the weights
        /// uploaded (CLIP's token embedding table stays on the host), each rounded to the allocator's alignment.
        public var uploadedBytes: UInt64
    }

    public var model: String
    /// The UNet's activation precision (nil in reports written before precisions were recorded).
    public var precision: ActivationPrecision?
    public var width: Int
    public var height: Int
    public var weights: [Weights]
    /// The stages, with every component's weights resident.
    public var memory: GenerationMemory

    /// Uploaded weight bytes of all components.
    public var uploadedWeightBytes: UInt64 { weights.reduce(0) { $0 + $1.uploadedBytes } }

    /// Builds, uploads and records every component of `model` for a `width` × `height` image on `device`. Needs
    /// the device budget to hold the largest component's weights, or with `streamedUNet` (the UNet planned with
    /// its weights streamed block by block) the text encoders', the VAE's and the UNet's largest block. The models
    /// run in `precision` (nil: their weights' F16, the VAE upcast to f32 where SDXL's pipeline does), so the
    /// recorded stages' activations are of that type.
    public static func measure(_ model: CatalogModel, width: Int, height: Int, streamedUNet: Bool = false,
                               precision: ActivationPrecision? = nil, device: GPUDevice) throws
        -> CatalogMemoryReport {
        var weights: [Weights] = []
        // The text encoders' outputs in the UNet's activation type, as the pipeline hands them on.
        let conditioningType = ActivationPrecision.resolve(precision, weights: .f16).dtype
        let textEncoding: GenerationMemory.Stage = try {
            var encoders: [(configuration: CLIPTextConfig, record: (Graph) throws -> [Value])] = []
            for encoder in try model.textEncoders() {
                let store = encoder.randomWeights()
                let deviceWeights = DeviceWeights(store: store, device: device)
                let record: (Graph) throws -> [Value]
                if encoder.withProjection {
                    let text = try CLIPTextModelWithProjection(configuration: encoder.configuration,
                                                               weights: deviceWeights, precision: precision)
                    record = { graph in
                        let output = try text(graph, inputIDs: [CatalogInputs.promptIDs(encoder.configuration)])
                        let values = [try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil),
                                      output.textEmbeds].compactMap { $0 }
                        return try values.map { try graph.cast($0, to: conditioningType) }
                    }
                } else {
                    let text = try CLIPTextModel(configuration: encoder.configuration, weights: deviceWeights,
                                                 precision: precision)
                    record = { graph in
                        let output = try text(graph, inputIDs: [CatalogInputs.promptIDs(encoder.configuration)])
                        return [try graph.cast(model != .sdxl ? output.lastHiddenState
                            : CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil),
                                               to: conditioningType)]
                    }
                }
                let loaded = try GenerationMemory.record(encoder.folder, device: device, record).loadedBytes
                weights.append(Weights(component: encoder.folder, fileBytes: UInt64(store.totalBytes),
                                       uploadedBytes: loaded))
                encoders.append((encoder.configuration, record))
            }
            return try GenerationMemory.record("text encoders", device: device) { graph in
                try encoders.flatMap { try $0.record(graph) }
            }.stage
        }()
        device.memory.trim()

        let latentHeight = height / 8, latentWidth = width / 8
        let unet = try {
            let unet = try model.makeUNet(device: device, precision: precision, convolutionStrategy: .automatic)
            let stages = streamedUNet
                ? try GenerationMemory.streamedUNetStages(unet, height: latentHeight, width: latentWidth,
                                                          device: device)
                : try GenerationMemory.unetStages(unet, height: latentHeight, width: latentWidth, device: device)
            weights.append(Weights(component: "unet", fileBytes: UInt64(unet.weightBytes),
                                   uploadedBytes: stages.loadedBytes))
            return stages
        }()
        device.memory.trim()

        let decode = try {
            let vae = try model.makeAutoencoder(device: device, precision: precision,
                                                   convolutionStrategy: .automatic)
            let stages = try GenerationMemory.decodeStages(vae, height: latentHeight, width: latentWidth,
                                                           device: device)
            let store = vae.weights.store
            let fileBytes = store.tensorNames.reduce(0) { $0 + ((try? store.info($1).byteCount) ?? 0) }
            weights.append(Weights(component: "vae", fileBytes: UInt64(fileBytes), uploadedBytes: stages.loadedBytes))
            return stages
        }()
        device.memory.trim()

        let textBytes = weights.filter { $0.component.hasPrefix("text_encoder") }.reduce(0) { $0 + $1.uploadedBytes }
        let memory = GenerationMemory(
            residentBytes: weights.reduce(0) { $0 + $1.uploadedBytes }, textEncoderBytes: textBytes,
            textEncoding: textEncoding, unetBatch1: unet.batch1, unetBatch2: unet.batch2,
            decodeUntiled: decode.untiled, decodeTiled: decode.tiled, streamedUNet: streamedUNet)
        return CatalogMemoryReport(model: model.rawValue,
                                   precision: ActivationPrecision.resolve(precision, weights: .f16),
                                   width: width, height: height, weights: weights, memory: memory)
    }

    /// The tactics and per-stage peaks for `budget` (`GenerationMemory.plan`); throws `PipelineError.overBudget`
    /// with the smallest peak any tactic reaches when none fits.
    public func plan(budget: UInt64, guidance: Bool = true) throws -> GenerationMemoryPlan {
        try memory.plan(budget: budget, guidance: guidance)
    }
}
