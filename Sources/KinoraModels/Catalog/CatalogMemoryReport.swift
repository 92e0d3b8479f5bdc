import KinoraGPU
import KinoraTensor

/// Device memory of a catalogued model generating one image of a given size, measured and planned without running
/// a step: each component is built over random F16 weights, its graphs are recorded (which uploads the weights the
/// allocator then counts) and `Graph.memoryPlan` predicts each run's activations and outputs exactly as the arena
/// will allocate them.
public struct CatalogMemoryReport: Codable, Sendable {
    /// One component's weights.
    public struct Weights: Codable, Sendable {
        public var component: String
        /// Bytes of every tensor as a checkpoint stores them (F16).
        public var fileBytes: UInt64
        /// Growth of the allocator's live bytes while the component's graphs were recorded: the weights uploaded
        /// (CLIP's token embedding table stays on the host) and the few small inputs the model uploads itself.
        public var uploadedBytes: UInt64
    }

    /// One graph run.
    public struct Stage: Codable, Sendable {
        public var name: String
        /// Bytes of the inputs the caller uploads for the run (latents, conditioning), measured.
        public var inputBytes: UInt64
        /// `Graph.memoryPlan`: arena slots plus outputs, added on top of what is resident.
        public var plannedBytes: UInt64
        /// The outputs' share of `plannedBytes`.
        public var outputBytes: UInt64
        /// The model's own closed-form estimate of the same (`UNet2DConditionModel.activationBytes`,
        /// `AutoencoderKL.decodeActivationBytes`), where it has one.
        public var estimatedBytes: UInt64?
    }

    public var model: String
    public var width: Int
    public var height: Int
    public var weights: [Weights]
    /// All prompt encoders in one graph, as the pipeline runs them (one prompt).
    public var textEncoding: Stage
    public var unetBatch1: Stage
    /// Conditional and unconditional halves in one pass.
    public var unetBatch2: Stage
    public var decodeUntiled: Stage
    /// The tiled decode with `decodeTileLatentSize` tiles (`CatalogInputs.decodeTiles`); nil when the latents
    /// are too small to split.
    public var decodeTiled: Stage?
    public var decodeTileLatentSize: Int?

    /// Uploaded weight bytes of all components.
    public var uploadedWeightBytes: UInt64 { weights.reduce(0) { $0 + $1.uploadedBytes } }

    /// Builds, uploads and records every component of `model` for a `width` × `height` image on `device`, one
    /// component at a time (each one's weights are released before the next is built). Needs the device budget to
    /// hold the largest component's weights.
    public static func measure(_ model: CatalogModel, width: Int, height: Int, device: GPUDevice) throws
        -> CatalogMemoryReport {
        let memory = device.memory
        func measured<T>(_ body: () throws -> T) rethrows -> (T, UInt64) {
            let before = memory.liveBytes
            let result = try body()
            return (result, memory.liveBytes - min(before, memory.liveBytes))
        }

        var weights: [Weights] = []
        let textEncoding: Stage = try {
            let graph = Graph(arena: ActivationArena(device: device))
            let encoders = try model.textEncoders()
            var outputs: [Value] = []
            var holders: [Any] = []
            for encoder in encoders {
                let store = encoder.randomWeights()
                let deviceWeights = DeviceWeights(store: store, device: device)
                let (values, bytes) = try measured { () throws -> [Value] in
                    let ids = [CatalogInputs.promptIDs(encoder.configuration)]
                    if encoder.withProjection {
                        let text = try CLIPTextModelWithProjection(configuration: encoder.configuration,
                                                                   weights: deviceWeights)
                        holders.append(text)
                        let output = try text(graph, inputIDs: ids)
                        return [try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil),
                                output.textEmbeds].compactMap { $0 }
                    }
                    let text = try CLIPTextModel(configuration: encoder.configuration, weights: deviceWeights)
                    holders.append(text)
                    let output = try text(graph, inputIDs: ids)
                    return [model == .sd15 ? output.lastHiddenState
                        : try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil)]
                }
                outputs += values
                weights.append(Weights(component: encoder.folder, fileBytes: UInt64(store.totalBytes),
                                       uploadedBytes: bytes))
            }
            let plan = try graph.memoryPlan(outputs)
            return Stage(name: "text encoders", inputBytes: 0, plannedBytes: plan.peakBytes,
                         outputBytes: plan.outputBytes)
        }()
        memory.trim()

        let latentHeight = height / 8, latentWidth = width / 8
        let (unetBatch1, unetBatch2): (Stage, Stage) = try {
            let unet = try model.makeUNet(device: device)
            var stages: [Stage] = []
            var uploaded: UInt64 = 0
            for batch in [1, 2] {
                let graph = Graph(arena: ActivationArena(device: device))
                let (inputs, inputBytes) = try measured {
                    try CatalogInputs.unet(graph, unet.configuration, batch: batch, height: latentHeight,
                                           width: latentWidth)
                }
                let (output, bytes) = try measured { try CatalogInputs.recordUNet(graph, unet, inputs) }
                uploaded += bytes
                let plan = try graph.memoryPlan([output])
                stages.append(Stage(
                    name: "UNet batch \(batch)", inputBytes: inputBytes, plannedBytes: plan.peakBytes,
                    outputBytes: plan.outputBytes,
                    estimatedBytes: UInt64(unet.activationBytes(batch: batch, height: latentHeight,
                                                                width: latentWidth))))
            }
            weights.append(Weights(component: "unet", fileBytes: UInt64(unet.weightBytes), uploadedBytes: uploaded))
            return (stages[0], stages[1])
        }()
        memory.trim()

        let (decodeUntiled, decodeTiled, tileSize): (Stage, Stage?, Int?) = try {
            let vae = try model.makeAutoencoder(device: device)
            var uploaded: UInt64 = 0
            let tiles = CatalogInputs.decodeTiles(vae.configuration, height: latentHeight, width: latentWidth)
            func stage(tiled: Bool) throws -> Stage {
                let graph = Graph(arena: ActivationArena(device: device))
                let (z, inputBytes) = try measured {
                    try CatalogInputs.latents(graph, channels: vae.configuration.latentChannels, batch: 1,
                                              height: latentHeight, width: latentWidth)
                }
                let (image, bytes) = try measured { try vae.decode(graph, z, tiling: tiled ? .on : .off, tiles: tiles) }
                uploaded += bytes
                let plan = try graph.memoryPlan([image])
                return Stage(name: tiled ? "VAE decode tiled" : "VAE decode", inputBytes: inputBytes,
                             plannedBytes: plan.peakBytes, outputBytes: plan.outputBytes,
                             estimatedBytes: tiled ? nil
                                 : vae.decodeActivationBytes(height: latentHeight, width: latentWidth))
            }
            let untiled = try stage(tiled: false)
            let tiled = tiles != nil ? try stage(tiled: true) : nil
            let store = vae.weights.store
            let fileBytes = store.tensorNames.reduce(0) { $0 + ((try? store.info($1).byteCount) ?? 0) }
            weights.append(Weights(component: "vae", fileBytes: UInt64(fileBytes), uploadedBytes: uploaded))
            return (untiled, tiled, tiles?.latentTileSize)
        }()
        memory.trim()

        return CatalogMemoryReport(model: model.rawValue, width: width, height: height, weights: weights,
                                   textEncoding: textEncoding, unetBatch1: unetBatch1, unetBatch2: unetBatch2,
                                   decodeUntiled: decodeUntiled, decodeTiled: decodeTiled,
                                   decodeTileLatentSize: tileSize)
    }

    /// The per-stage tactics for `budget`, chosen as the pipeline chooses them: conditional and unconditional
    /// halves batched when that fits, else one after the other; the decode untiled when that fits, else tiled.
    ///
    /// Accounting: the weights of every component stay resident for the whole generation (the pipeline keeps all
    /// its models loaded; nothing is evicted); so does the conditioning (the text stage's outputs, twice with
    /// guidance). Only one stage's activations are live at a time (the arena is trimmed between stages). A stage's
    /// peak is resident bytes + its inputs + its planned activations and outputs.
    ///
    /// Throws `PipelineError.overBudget` with the smallest peak any tactic reaches when none fits.
    public func plan(budget: UInt64, guidance: Bool = true) throws -> CatalogMemoryPlan {
        let resident = uploadedWeightBytes
        let conditioning = textEncoding.outputBytes * (guidance ? 2 : 1)
        let text = resident + textEncoding.inputBytes + textEncoding.plannedBytes
        func peak(_ stage: Stage) -> UInt64 { resident + conditioning + stage.inputBytes + stage.plannedBytes }
        let batched = guidance && peak(unetBatch2) <= budget
        let unet = peak(batched ? unetBatch2 : unetBatch1)
        let tiled = peak(decodeUntiled) > budget && decodeTiled != nil
        let decode = peak(tiled ? decodeTiled! : decodeUntiled)
        let plan = CatalogMemoryPlan(budget: budget, residentWeightBytes: resident, conditioningBytes: conditioning,
                                     batchedGuidance: batched, tiledDecode: tiled, textPeakBytes: text,
                                     unetPeakBytes: unet, decodePeakBytes: decode)
        guard plan.peakBytes <= budget else {
            throw PipelineError.overBudget(needed: plan.peakBytes, budget: budget)
        }
        return plan
    }
}

/// The tactics `CatalogMemoryReport.plan(budget:)` picked and the peak of each stage under them.
public struct CatalogMemoryPlan: Codable, Sendable {
    public var budget: UInt64
    public var residentWeightBytes: UInt64
    public var conditioningBytes: UInt64
    /// Both guidance halves in one UNet pass (else two passes of batch 1).
    public var batchedGuidance: Bool
    public var tiledDecode: Bool
    public var textPeakBytes: UInt64
    public var unetPeakBytes: UInt64
    public var decodePeakBytes: UInt64

    /// The generation's peak: the largest stage's.
    public var peakBytes: UInt64 { max(textPeakBytes, unetPeakBytes, decodePeakBytes) }
}
