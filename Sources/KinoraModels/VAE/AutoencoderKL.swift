import KinoraGPU
import KinoraTensor

/// diffusers' `AutoencoderKL`: the image VAE of Stable Diffusion 1.x/2.x/XL (and, with a shift factor, SD3/FLUX),
/// recorded on a `Graph` with the reference implementation's weight names.
///
/// `encode` and `decode` work on raw VAE latents, exactly as diffusers' `vae.encode` / `vae.decode`; a denoiser's
/// latents are `scaleLatents(z)` = (z − shift_factor) · scaling_factor, and `unscaleLatents` undoes that before
/// `decode` (what diffusers' pipelines do before calling `vae.decode`). `decode` can split the latents into
/// overlapping tiles blended as diffusers' `enable_tiling()` does, on request or when the untiled decode's estimated
/// activation memory (`decodeActivationBytes`) exceeds the budget left. Activations are stored as
/// `activationDType` (by default the weights' type, as diffusers runs the VAE in its `torch_dtype`); the decoded
/// image leaves `decode` as f32.
public final class AutoencoderKL: Sendable {
    /// Whether `decode` splits the latents into tiles.
    public enum Tiling: Sendable {
        /// One pass over the whole latent.
        case off
        /// Tiles whenever the latent is larger than one tile (diffusers' `enable_tiling()`).
        case on
        /// Tiles only when the untiled decode's estimated activation bytes exceed the budget.
        case auto
    }

    /// diffusers' tiling parameters: latent tiles of `latentTileSize` (`tile_latent_min_size`) starting every
    /// ⌊latentTileSize · (1 − overlapFactor)⌋ latent pixels, decoded to `sampleTileSize` (`tile_sample_min_size`)
    /// pixels, blended over ⌊sampleTileSize · overlapFactor⌋ pixels by linear ramps and cropped to
    /// sampleTileSize − blend pixels.
    public struct TileConfiguration: Sendable, Equatable {
        public var latentTileSize: Int
        public var sampleTileSize: Int
        public var overlapFactor: Double

        public init(latentTileSize: Int, sampleTileSize: Int, overlapFactor: Double = 0.25) {
            self.latentTileSize = latentTileSize
            self.sampleTileSize = sampleTileSize
            self.overlapFactor = overlapFactor
        }

        /// diffusers' defaults: `sample_size` pixels (512 for SD 1.5: 64 latent pixels), overlap 0.25.
        public init(configuration: AutoencoderKLConfiguration) {
            self.init(latentTileSize: configuration.sampleSize / configuration.downsamplingFactor,
                      sampleTileSize: configuration.sampleSize)
        }
    }

    public let configuration: AutoencoderKLConfiguration
    public let weights: DeviceWeights
    /// The storage type of the activations `encode` and `decode` record (f32, f16 or bf16).
    public let activationDType: DType
    /// How `encode` and `decode` compute their convolutions: by default `.fastest`, which on CPU drivers runs the
    /// 3×3 ones by Winograd with its workspace in the arena (a 128² decode of SD 1.5's VAE on lavapipe: 24.7 s →
    /// 3.5 s) and on GPUs is `.automatic`. `decodeActivationBytes` counts the workspace where it runs; measurements
    /// that stand for GPUs on a CPU driver (the catalog's activation figures) pass `.automatic`.
    public let convolutionStrategy: ConvolutionStrategy
    let encoder: Encoder
    let decoder: Decoder

    /// Builds the VAE over `weights` (diffusers names: `encoder.*`, `decoder.*`, `quant_conv.*`,
    /// `post_quant_conv.*`). Throws when the configuration is unsupported or disagrees with the weights about the
    /// quant convolutions; a missing block tensor is reported by name when the forward is recorded. Activations run
    /// in `precision`, by default the weights' storage type.
    public convenience init(configuration: AutoencoderKLConfiguration, weights: DeviceWeights,
                            precision: ActivationPrecision? = nil,
                            convolutionStrategy: ConvolutionStrategy = .fastest) throws {
        try self.init(configuration: configuration, weights: weights, fusedAttentionHeadDim: Graph.maxAttentionHeadDim,
                      precision: precision, convolutionStrategy: convolutionStrategy)
    }

    /// `fusedAttentionHeadDim` lets tests run the mid-block attention's explicit path on a tiny model.
    init(configuration: AutoencoderKLConfiguration, weights: DeviceWeights, fusedAttentionHeadDim: Int,
         precision: ActivationPrecision? = nil, convolutionStrategy: ConvolutionStrategy = .fastest) throws {
        try configuration.validate(file: weights.store.sourceName)
        for (name, enabled) in [("quant_conv.weight", configuration.useQuantConv),
                                ("post_quant_conv.weight", configuration.usePostQuantConv)]
            where weights.contains(name) != enabled {
            throw AutoencoderKLError.weightsMismatch(
                file: weights.store.sourceName, tensor: weights.prefix.isEmpty ? name : "\(weights.prefix).\(name)",
                reason: enabled ? "missing, but the configuration enables it" : "present, but the configuration "
                    + "disables it")
        }
        self.configuration = configuration
        self.weights = weights
        activationDType = ActivationPrecision.resolve(precision, weights: weights.storageType).dtype
        self.convolutionStrategy = convolutionStrategy
        encoder = Encoder(weights: weights.scoped("encoder"), configuration: configuration,
                          fusedAttentionHeadDim: fusedAttentionHeadDim)
        decoder = Decoder(weights: weights.scoped("decoder"), configuration: configuration,
                          fusedAttentionHeadDim: fusedAttentionHeadDim)
    }

    // MARK: Encoding

    /// The posterior of `image` [N, in_channels, H, W] (pixels in [−1, 1]): `mean` and `logvar`, each
    /// [N, latent_channels, H / f, W / f], the log-variance clamped to [−30, 20] as diffusers'
    /// `DiagonalGaussianDistribution` does.
    public func encode(_ graph: Graph, _ image: Value) throws -> (mean: Value, logvar: Value) {
        guard image.rank == 4, image.shape[1] == configuration.inChannels else {
            throw AutoencoderKLError.invalidInput(operation: "encode", shape: image.shape,
                                                  reason: "expected [N, \(configuration.inChannels), H, W]")
        }
        return try graph.withConvolutions(convolutionStrategy) {
            try graph.withActivations(activationDType) { try encodeMoments(graph, image) }
        }
    }

    private func encodeMoments(_ graph: Graph, _ image: Value) throws -> (mean: Value, logvar: Value) {
        var moments = try encoder(graph, graph.cast(image, to: activationDType))
        if configuration.useQuantConv {
            moments = try VAELayers.conv(graph, moments, weights.scoped("quant_conv"), padding: 0)
        }
        let halves = try graph.split(moments, sizes: [configuration.latentChannels, configuration.latentChannels],
                                     axis: 1)
        let low = try graph.input([-30], shape: [1]), high = try graph.input([20], shape: [1])
        let logvar = try graph.binary(.minimum, graph.binary(.maximum, halves[1], low), high)
        return (halves[0], logvar)
    }

    /// A posterior sample `mean + exp(logvar / 2) · noise` with `noise` of the mean's shape.
    public func sample(_ graph: Graph, mean: Value, logvar: Value, noise: Value) throws -> Value {
        try graph.add(mean, graph.multiply(graph.exp(graph.scale(logvar, by: 0.5)), noise))
    }

    /// A posterior sample with noise from `Graph.randomNormal` (the Philox stream for `seed`, not PyTorch's).
    public func sample(_ graph: Graph, mean: Value, logvar: Value, seed: UInt64, offset: UInt64 = 0) throws
        -> Value {
        try sample(graph, mean: mean, logvar: logvar,
                   noise: graph.randomNormal(shape: mean.shape, seed: seed, offset: offset))
    }

    /// Raw VAE latents → the denoiser's latent space: (z − shift_factor) · scaling_factor.
    public func scaleLatents(_ graph: Graph, _ z: Value) throws -> Value {
        let shift = configuration.shiftFactor ?? 0
        return try graph.scale(z, by: configuration.scalingFactor, offset: -shift * configuration.scalingFactor)
    }

    /// The denoiser's latents → raw VAE latents for `decode`: latents / scaling_factor + shift_factor.
    public func unscaleLatents(_ graph: Graph, _ latents: Value) throws -> Value {
        try graph.scale(latents, by: 1 / configuration.scalingFactor, offset: configuration.shiftFactor ?? 0)
    }

    // MARK: Decoding

    /// The image [N, out_channels, h · f, w · f] decoded from raw latents `z` [N, latent_channels, h, w].
    ///
    /// With `.auto`, tiles are used when `decodeActivationBytes` exceeds `budget` (default: the device budget minus
    /// the bytes live now). The decode only records ops: an allocation that does not fit the budget when the graph
    /// runs surfaces as `GPUError.outOfMemory` from `Graph.run`, never as an image.
    public func decode(_ graph: Graph, _ z: Value, tiling: Tiling = .off, tiles: TileConfiguration? = nil,
                       budget: UInt64? = nil) throws -> Value {
        guard z.rank == 4, z.shape[1] == configuration.latentChannels else {
            throw AutoencoderKLError.invalidInput(operation: "decode", shape: z.shape,
                                                  reason: "expected [N, \(configuration.latentChannels), h, w]")
        }
        let tiles = tiles ?? TileConfiguration(configuration: configuration)
        let tiled = decodeUsesTiles(batch: z.shape[0], height: z.shape[2], width: z.shape[3], tiling: tiling,
                                    tiles: tiles, budget: budget)
        let image = try graph.withConvolutions(convolutionStrategy) {
            try graph.withActivations(activationDType) {
                let z = try graph.cast(z, to: activationDType)
                return tiled ? try decodeTiled(graph, z, tiles: tiles) : try decodeWhole(graph, z)
            }
        }
        return try graph.cast(image, to: .f32)
    }

    /// Whether `decode` with these arguments splits latents of this size into tiles.
    public func decodeUsesTiles(batch: Int = 1, height: Int, width: Int, tiling: Tiling,
                                tiles: TileConfiguration? = nil, budget: UInt64? = nil) -> Bool {
        let tiles = tiles ?? TileConfiguration(configuration: configuration)
        let larger = height > tiles.latentTileSize || width > tiles.latentTileSize
        switch tiling {
        case .off: return false
        case .on: return larger
        case .auto:
            let available = budget ?? weights.device.memory.availableBytes
            return larger && decodeActivationBytes(batch: batch, height: height, width: width) > available
        }
    }

    /// Peak device bytes of an untiled decode of [batch, latent_channels, height, width] latents on a fresh arena:
    /// every intermediate activation as the graph allocates and reuses them (with the Winograd workspace where
    /// `convolutionStrategy` runs it on this device), plus the output image; the latents and weights are not
    /// included. Computed from the architecture by replaying the decoder's ops on shapes.
    public func decodeActivationBytes(batch: Int = 1, height: Int, width: Int) -> UInt64 {
        decodeActivationBytes(batch: batch, height: height, width: width,
                              winogradPieceBytes: Graph.defaultWinogradPieceBytes)
    }

    /// `decodeActivationBytes` on a graph whose `winogradPieceBytes` is not the default (tests exercise the pieces).
    func decodeActivationBytes(batch: Int, height: Int, width: Int, winogradPieceBytes: Int) -> UInt64 {
        var trace = ActivationTrace(
            sliceAlignment: Int(weights.device.physical.features.minStorageBufferOffsetAlignment),
            elementBytes: activationDType.size, device: weights.device, convolutionStrategy: convolutionStrategy,
            winogradPieceBytes: winogradPieceBytes)
        var z = trace.input([batch, configuration.latentChannels, height, width])
        if configuration.usePostQuantConv {
            z = trace.conv(z, outChannels: configuration.latentChannels, kernel: 1, padding: 0)
        }
        var image = decoder.trace(&trace, z)
        // `decode` hands the image back as f32.
        if activationDType != .f32 { image = trace.op(image.shape, reads: [image], elementBytes: 4) }
        return trace.peakBytes(output: image)
    }

    func decodeWhole(_ graph: Graph, _ z: Value) throws -> Value {
        var z = z
        if configuration.usePostQuantConv {
            z = try VAELayers.conv(graph, z, weights.scoped("post_quant_conv"), padding: 0)
        }
        return try decoder(graph, z)
    }
}
