/// Device memory of one text-to-image generation, stage by stage, and the planner that picks its tactics: the one
/// place both `StableDiffusionPipeline` (before every generation, from its own models) and `CatalogMemoryReport`
/// (for full-size architectures over random weights) decide what fits a budget.
public struct GenerationMemory: Codable, Sendable {
    /// One graph run.
    public struct Stage: Codable, Sendable {
        public var name: String
        /// Bytes of the inputs the caller and the model upload for the run (latents, conditioning, constants).
        public var inputBytes: UInt64
        /// `Graph.memoryPlan`: arena slots plus outputs, added on top of what is resident.
        public var plannedBytes: UInt64
        /// The outputs' share of `plannedBytes`.
        public var outputBytes: UInt64
        /// The model's own closed-form estimate of `plannedBytes` (`UNet2DConditionModel.activationBytes`,
        /// `AutoencoderKL.decodeActivationBytes`), where it has one.
        public var estimatedBytes: UInt64?

        public init(name: String, inputBytes: UInt64, plannedBytes: UInt64, outputBytes: UInt64,
                    estimatedBytes: UInt64? = nil) {
            self.name = name
            self.inputBytes = inputBytes
            self.plannedBytes = plannedBytes
            self.outputBytes = outputBytes
            self.estimatedBytes = estimatedBytes
        }

        /// What the run adds to the resident bytes at its peak.
        public var peakBytes: UInt64 { inputBytes + plannedBytes }
    }

    /// A tiled decode with tiles of `latentTileSize` latent pixels.
    public struct TiledDecode: Codable, Sendable {
        public var latentTileSize: Int
        public var stage: Stage

        public init(latentTileSize: Int, stage: Stage) {
            self.latentTileSize = latentTileSize
            self.stage = stage
        }
    }

    /// Device bytes every loaded model holds (weights, and the constants the models keep), text encoders included.
    public var residentBytes: UInt64
    /// The text encoders' share of `residentBytes`, freed when they are released after encoding.
    public var textEncoderBytes: UInt64
    /// All prompt encoders over one 77-token window; its outputs are one window's conditioning.
    public var textEncoding: Stage
    /// Windows per prompt (prompts longer than 75 tokens, or with `BREAK`, take several).
    public var windows: Int
    public var unetBatch1: Stage
    /// Conditional and unconditional halves in one pass.
    public var unetBatch2: Stage
    public var decodeUntiled: Stage
    /// Tiled decodes, largest tile first; empty when the latents are too small to split.
    public var decodeTiled: [TiledDecode]
    /// Whether the UNet stages were measured with its weights streamed block by block: `residentBytes` then holds
    /// only the UNet's head and tail, and each UNet stage counts the largest piece's weights with its activations.
    public var streamedUNet: Bool

    public init(residentBytes: UInt64, textEncoderBytes: UInt64, textEncoding: Stage, windows: Int = 1,
                unetBatch1: Stage, unetBatch2: Stage, decodeUntiled: Stage, decodeTiled: [TiledDecode],
                streamedUNet: Bool = false) {
        self.residentBytes = residentBytes
        self.textEncoderBytes = textEncoderBytes
        self.textEncoding = textEncoding
        self.windows = windows
        self.unetBatch1 = unetBatch1
        self.unetBatch2 = unetBatch2
        self.decodeUntiled = decodeUntiled
        self.decodeTiled = decodeTiled
        self.streamedUNet = streamedUNet
    }

    /// The tactics for `budget`, the first that fits in this order of preference: guidance halves batched with the
    /// text encoders kept loaded, batched with the text encoders released after encoding (they upload again for
    /// the next prompt), then one half after the other, kept and then released. The decode runs untiled when that
    /// fits (or `tiling` is `.off`), else tiled with the largest tile that fits.
    ///
    /// Accounting: every loaded model's bytes stay resident (`residentBytes`, less the text encoders once
    /// released), and after encoding so does the conditioning (the text stage's outputs per window, twice with
    /// guidance). One stage's activations are live at a time (the arena is trimmed between stages). A stage's
    /// peak is what is resident + its inputs + its planned activations and outputs; the text stage also holds the
    /// conditioning it produces.
    ///
    /// Throws `PipelineError.overBudget` with the smallest peak any tactic reaches, naming the stage at that peak.
    public func plan(budget: UInt64, guidance: Bool = true, tiling: AutoencoderKL.Tiling = .auto) throws
        -> GenerationMemoryPlan {
        let conditioning = Self.conditioningBytes(textEncoding, windows: windows, guidance: guidance)
        let text = residentBytes + textEncoding.peakBytes + conditioning
        let tactics = guidance ? [(false, true), (true, true), (false, false), (true, false)]
            : [(false, false), (true, false)]
        var best: GenerationMemoryPlan?
        for (release, batched) in tactics {
            let resident = residentBytes - (release ? min(textEncoderBytes, residentBytes) : 0) + conditioning
            let decode = Self.decode(untiled: decodeUntiled, tiled: decodeTiled, resident: resident, budget: budget,
                                     tiling: tiling)
            let plan = GenerationMemoryPlan(
                budget: budget, residentBytes: residentBytes, conditioningBytes: conditioning,
                releaseTextEncoders: release, batchedGuidance: batched, streamedUNet: streamedUNet,
                decodeTileLatentSize: decode.tile, textPeakBytes: text,
                unetPeakBytes: resident + (batched ? unetBatch2 : unetBatch1).peakBytes,
                decodePeakBytes: resident + decode.stage.peakBytes)
            if plan.peakBytes <= budget { return plan }
            if best.map({ plan.peakBytes < $0.peakBytes }) ?? true { best = plan }
        }
        let plan = best!
        throw PipelineError.overBudget(needed: plan.peakBytes, budget: budget, stage: plan.peakStage)
    }

    /// The plan of the text encoding on its own (the encode-text stage of a staged workflow) next to
    /// `residentBytes`: the encoders' peak while they also hold the conditioning they produce (`windows` per prompt,
    /// twice with guidance); its UNet and decode peaks are zero.
    public static func planTextEncoding(residentBytes: UInt64, textEncoding: Stage, windows: Int, guidance: Bool,
                                        budget: UInt64) throws -> GenerationMemoryPlan {
        let conditioning = conditioningBytes(textEncoding, windows: windows, guidance: guidance)
        let plan = GenerationMemoryPlan(
            budget: budget, residentBytes: residentBytes, conditioningBytes: conditioning, releaseTextEncoders: false,
            batchedGuidance: false, decodeTileLatentSize: nil,
            textPeakBytes: residentBytes + textEncoding.peakBytes + conditioning, unetPeakBytes: 0, decodePeakBytes: 0)
        guard plan.peakBytes <= budget else {
            throw PipelineError.overBudget(needed: plan.peakBytes, budget: budget, stage: plan.peakStage)
        }
        return plan
    }

    /// The plan of the denoising loop on its own (the denoise stage of a staged workflow): the UNet next to
    /// `residentBytes` and the `conditioningBytes` it reads, with guidance halves batched when that fits, else one
    /// after the other; its text and decode peaks are zero.
    public static func planDenoise(residentBytes: UInt64, conditioningBytes: UInt64, unetBatch1: Stage,
                                   unetBatch2: Stage, streamedUNet: Bool = false, guidance: Bool, budget: UInt64)
        throws -> GenerationMemoryPlan {
        let resident = residentBytes + conditioningBytes
        let plans = (guidance ? [true, false] : [false]).map { batched in
            GenerationMemoryPlan(
                budget: budget, residentBytes: residentBytes, conditioningBytes: conditioningBytes,
                releaseTextEncoders: false, batchedGuidance: batched, streamedUNet: streamedUNet,
                decodeTileLatentSize: nil, textPeakBytes: 0,
                unetPeakBytes: resident + (batched ? unetBatch2 : unetBatch1).peakBytes, decodePeakBytes: 0)
        }
        if let plan = plans.first(where: { $0.peakBytes <= budget }) { return plan }
        let smallest = plans.min { $0.peakBytes < $1.peakBytes }!
        throw PipelineError.overBudget(needed: smallest.peakBytes, budget: budget, stage: smallest.peakStage)
    }

    /// The plan of a decode on its own (latents decoded as a separate stage) next to `residentBytes`: untiled when
    /// that fits or `tiling` is `.off`, else the largest tile that fits; its text and UNet peaks are zero.
    public static func planDecode(residentBytes: UInt64, untiled: Stage, tiled: [TiledDecode], budget: UInt64,
                                  tiling: AutoencoderKL.Tiling = .auto) throws -> GenerationMemoryPlan {
        let decode = decode(untiled: untiled, tiled: tiled, resident: residentBytes, budget: budget, tiling: tiling)
        let plan = GenerationMemoryPlan(
            budget: budget, residentBytes: residentBytes, conditioningBytes: 0, releaseTextEncoders: false,
            batchedGuidance: false, decodeTileLatentSize: decode.tile, textPeakBytes: 0, unetPeakBytes: 0,
            decodePeakBytes: residentBytes + decode.stage.peakBytes)
        guard plan.peakBytes <= budget else {
            throw PipelineError.overBudget(needed: plan.peakBytes, budget: budget, stage: plan.peakStage)
        }
        return plan
    }

    /// Device bytes of the conditioning: the text stage's outputs per window, twice with guidance.
    private static func conditioningBytes(_ textEncoding: Stage, windows: Int, guidance: Bool) -> UInt64 {
        textEncoding.outputBytes * UInt64(windows) * (guidance ? 2 : 1)
    }

    /// The first decode that fits next to `resident` (untiled unless `tiling` is `.on`, then tiles from the
    /// largest), or the one with the smallest peak when none does.
    private static func decode(untiled: Stage, tiled: [TiledDecode], resident: UInt64, budget: UInt64,
                               tiling: AutoencoderKL.Tiling) -> (tile: Int?, stage: Stage) {
        var decodes: [(tile: Int?, stage: Stage)] = []
        if tiling != .on || tiled.isEmpty { decodes.append((nil, untiled)) }
        if tiling != .off { decodes += tiled.map { ($0.latentTileSize, $0.stage) } }
        return decodes.first { resident + $0.stage.peakBytes <= budget }
            ?? decodes.min { $0.stage.peakBytes < $1.stage.peakBytes }!
    }

    /// Tile sizes (latent pixels) for a tiled decode of `height` × `width` latents, largest first: the VAE's
    /// default (diffusers' `sample_size` tiles), halved while the latents fit in one tile (SDXL's 1024-pixel
    /// default never tiles a 1024² image), then halved on down to 32-latent (256-pixel) tiles or the default,
    /// whichever is smaller. Empty when even the smallest holds the whole latent.
    public static func tileSizes(_ configuration: AutoencoderKLConfiguration, height: Int, width: Int) -> [Int] {
        let start = configuration.sampleSize / configuration.downsamplingFactor
        let smallest = min(32, start)
        var sizes: [Int] = []
        var tile = start
        while tile >= max(smallest, 1) {
            if max(height, width) > tile { sizes.append(tile) }
            tile /= 2
        }
        return sizes
    }
}

/// The tactics `GenerationMemory.plan` picked and the peak of each stage under them.
public struct GenerationMemoryPlan: Codable, Sendable, Equatable {
    public var budget: UInt64
    public var residentBytes: UInt64
    public var conditioningBytes: UInt64
    /// Whether the text encoders are freed after encoding.
    public var releaseTextEncoders: Bool
    /// Both guidance halves in one UNet pass (else two passes of batch 1).
    public var batchedGuidance: Bool
    /// The UNet's weights streamed block by block instead of resident.
    public var streamedUNet: Bool = false
    /// The tile edge in latent pixels of a tiled decode; nil decodes untiled.
    public var decodeTileLatentSize: Int?
    public var textPeakBytes: UInt64
    public var unetPeakBytes: UInt64
    public var decodePeakBytes: UInt64

    public var tiledDecode: Bool { decodeTileLatentSize != nil }

    /// The generation's peak: the largest stage's.
    public var peakBytes: UInt64 { max(textPeakBytes, unetPeakBytes, decodePeakBytes) }

    /// The stage where the peak is reached.
    public var peakStage: String {
        if peakBytes == textPeakBytes { return "text encoding" }
        if peakBytes == unetPeakBytes {
            let streamed = streamedUNet ? ", weights streamed" : ""
            return batchedGuidance ? "UNet (batch 2\(streamed))" : streamedUNet ? "UNet (weights streamed)" : "UNet"
        }
        return tiledDecode ? "VAE decode (tiled)" : "VAE decode"
    }
}
