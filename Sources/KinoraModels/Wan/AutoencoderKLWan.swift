import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// diffusers' `AutoencoderKLWan`: the causal 3-D video VAE of the Wan models, both the Wan 2.1 VAE (16 latent
/// channels, 4×8×8) and the Wan 2.2 VAE (48 channels, 4×16×16, patchified, residual up and down blocks), recorded on
/// a `Graph` under diffusers' weight names.
///
/// Videos are [B, 3, F, H, W] in [−1, 1]; latents [B, z_dim, T, h, w] with F = 1 + 4 (T − 1). Every convolution is
/// causal in time, so a clip can be processed chunk by chunk with each convolution carrying its last input frames
/// to the next chunk (diffusers' feature cache): diffusers encodes the first frame and then 4 frames at a time and
/// decodes one latent frame at a time. `encode` / `decode` record the whole clip on one graph, which gives the same
/// values; `WanVAEStreamingDecoder` / `WanVAEStreamingEncoder` run chunk by chunk with the cache on the device, so
/// memory stays flat for any length, and can split each frame into diffusers' overlapping tiles.
///
/// Latents as the Wan transformer sees them are normalised per channel with the configuration's `latents_mean` and
/// `latents_std` (`normalizeLatents`, `denormalizeLatents`), as the Wan pipelines do around the VAE.
public final class AutoencoderKLWan: Sendable {
    public let configuration: AutoencoderKLWanConfig
    /// The weights under diffusers' names.
    public let weights: DeviceWeights
    let encoder: Encoder3d
    let decoder: Decoder3d

    /// Checks `configuration` and the shape of every tensor the VAE reads (each failure names the tensor, the shape
    /// the configuration implies and the one found) and that the file holds no tensor the configuration has no
    /// place for; the weights upload on first use.
    public convenience init(configuration: AutoencoderKLWanConfig, weights: DeviceWeights) throws {
        try self.init(configuration: configuration, weights: weights, fusedAttentionHeadDim: Graph.maxAttentionHeadDim)
    }

    /// `fusedAttentionHeadDim` lets tests run the mid blocks' explicit attention on a tiny model.
    init(configuration: AutoencoderKLWanConfig, weights: DeviceWeights, fusedAttentionHeadDim: Int) throws {
        let file = weights.store.sourceName
        try configuration.validate(source: file)
        switch weights.layoutMismatch(Self.parameterShapes(configuration)) {
        case nil: break
        case .missing(let tensor, let shape):
            throw AutoencoderKLWanError.weightsMismatch(
                file: file, tensor: tensor, reason: "missing (expected shape \(shape) for \(configuration.summary))")
        case .wrongShape(let tensor, let expected, let found):
            throw AutoencoderKLWanError.weightsMismatch(
                file: file, tensor: tensor,
                reason: "expected shape \(expected) for \(configuration.summary), found \(found)")
        case .extra(let tensor, let shape):
            throw AutoencoderKLWanError.weightsMismatch(
                file: file, tensor: tensor,
                reason: "shape \(shape) has no place in \(configuration.summary) (a VAE of another size or layout)")
        }
        self.configuration = configuration
        self.weights = weights
        encoder = Encoder3d(
            weights: weights.scoped("encoder"), configuration: configuration,
            fusedAttentionHeadDim: fusedAttentionHeadDim)
        decoder = Decoder3d(
            weights: weights.scoped("decoder"), configuration: configuration,
            fusedAttentionHeadDim: fusedAttentionHeadDim)
    }

    /// The VAE of a diffusers folder (a Wan pipeline's `vae/`): `config.json` and
    /// `diffusion_pytorch_model.safetensors` (or its shards).
    public convenience init(folder: URL, device: GPUDevice) throws {
        let configuration = try AutoencoderKLWanConfig.load(from: folder.appending(path: "config.json"))
        let store = try WanVAEKeyMap.diffusersNames(WeightFolder.open(folder))
        try self.init(configuration: configuration, weights: DeviceWeights(store: store, device: device))
    }

    /// The VAE in one weight file: ComfyUI's `wan_2.1_vae.safetensors` / `wan2.2_vae.safetensors` and Wan's
    /// `Wan2.1_VAE.pth` / `Wan2.2_VAE.pth` (the original names), or a diffusers-named file; its configuration read
    /// off the tensor shapes unless given.
    public convenience init(file: URL, device: GPUDevice, configuration: AutoencoderKLWanConfig? = nil) throws {
        let store = try WanVAEKeyMap.diffusersNames(WeightFile.open(file))
        try self.init(
            configuration: configuration ?? AutoencoderKLWanConfig.inferred(from: store),
            weights: DeviceWeights(store: store, device: device))
    }

    /// Every tensor the VAE reads, under diffusers' names, with the shape `configuration` gives it.
    public static func parameterShapes(_ c: AutoencoderKLWanConfig) -> [(name: String, shape: [Int])] {
        var shapes: [(name: String, shape: [Int])] = []
        func conv(_ name: String, _ out: Int, _ input: Int, _ kernel: [Int]) {
            shapes += [("\(name).weight", [out, input] + kernel), ("\(name).bias", [out])]
        }
        func resnet(_ name: String, _ input: Int, _ out: Int) {
            shapes.append(("\(name).norm1.gamma", [input, 1, 1, 1]))
            conv("\(name).conv1", out, input, [3, 3, 3])
            shapes.append(("\(name).norm2.gamma", [out, 1, 1, 1]))
            conv("\(name).conv2", out, out, [3, 3, 3])
            if input != out { conv("\(name).conv_shortcut", out, input, [1, 1, 1]) }
        }
        func resample(_ name: String, _ channels: Int, _ out: Int, temporal: Bool, up: Bool) {
            conv("\(name).resample.1", out, channels, [3, 3])
            if temporal { conv("\(name).time_conv", up ? 2 * channels : channels, channels, [3, 1, 1]) }
        }
        func mid(_ name: String, _ channels: Int) {
            resnet("\(name).mid_block.resnets.0", channels, channels)
            shapes.append(("\(name).mid_block.attentions.0.norm.gamma", [channels, 1, 1]))
            conv("\(name).mid_block.attentions.0.to_qkv", 3 * channels, channels, [1, 1])
            conv("\(name).mid_block.attentions.0.proj", channels, channels, [1, 1])
            resnet("\(name).mid_block.resnets.1", channels, channels)
        }
        let dims = c.encoderDims
        conv("encoder.conv_in", dims[0], c.inChannels, [3, 3, 3])
        for level in 0..<c.levels {
            for index in 0..<c.numResBlocks {
                resnet(
                    "encoder." + encoderResnet(c, level, index), index == 0 ? dims[level] : dims[level + 1],
                    dims[level + 1])
            }
            if level < c.levels - 1 {
                resample(
                    "encoder." + encoderDownsampler(c, level), dims[level + 1], dims[level + 1],
                    temporal: c.temporalDownsample(level: level), up: false)
            }
        }
        mid("encoder", dims[c.levels])
        shapes.append(("encoder.norm_out.gamma", [dims[c.levels], 1, 1, 1]))
        conv("encoder.conv_out", 2 * c.zDim, dims[c.levels], [3, 3, 3])
        conv("quant_conv", 2 * c.zDim, 2 * c.zDim, [1, 1, 1])
        conv("post_quant_conv", c.zDim, c.zDim, [1, 1, 1])
        let up = c.decoderDims
        conv("decoder.conv_in", up[0], c.zDim, [3, 3, 3])
        mid("decoder", up[0])
        for level in 0..<c.levels {
            let inDim = level > 0 && !c.isResidual ? up[level] / 2 : up[level]
            for index in 0...c.numResBlocks {
                resnet("decoder.up_blocks.\(level).resnets.\(index)", index == 0 ? inDim : up[level + 1], up[level + 1])
            }
            if level < c.levels - 1 {
                let name = "decoder.up_blocks.\(level)." + (c.isResidual ? "upsampler" : "upsamplers.0")
                resample(
                    name, up[level + 1], c.isResidual ? up[level + 1] : up[level + 1] / 2,
                    temporal: c.temporalUpsample(level: level), up: true)
            }
        }
        shapes.append(("decoder.norm_out.gamma", [up[c.levels], 1, 1, 1]))
        conv("decoder.conv_out", c.outChannels, up[c.levels], [3, 3, 3])
        return shapes
    }

    // MARK: Encoding

    /// The posterior of `video` [B, 3, F, H, W] (pixels in [−1, 1], F = 1 + 4k, H and W multiples of
    /// `scale_factor_spatial`), recorded as one pass over the whole clip: `mean` (what the Wan pipelines use,
    /// `sample_mode="argmax"`) and `logvar` clamped to [−30, 20], each [B, z_dim, 1 + k, H / s, W / s].
    public func encode(_ graph: Graph, _ video: Value) throws -> (mean: Value, logvar: Value) {
        try checkVideo(video, operation: "encode", chunked: false)
        return try encodeChunk(WanVAEPass(graph: graph), video)
    }

    /// The encoder over one chunk with `pass`'s cache, then `quant_conv` and the posterior's halves.
    func encodeChunk(_ pass: WanVAEPass, _ video: Value) throws -> (mean: Value, logvar: Value) {
        let graph = pass.graph
        var moments = try encoder(pass, Self.patchify(graph, video, patch: configuration.patch))
        try pass.finish()
        moments = try CausalConv3d.pointwise(weights.scoped("quant_conv"))(graph, moments)
        let halves = try graph.split(moments, sizes: [configuration.zDim, configuration.zDim], axis: 1)
        let low = try graph.input([-30], shape: [1])
        let high = try graph.input([20], shape: [1])
        return (halves[0], try graph.binary(.minimum, graph.binary(.maximum, halves[1], low), high))
    }

    /// Throws unless `video` is [B, 3, F, H, W] with H and W multiples of the spatial compression and F = 1 + 4k
    /// (for a whole clip) or, for a chunk after the first, 4 frames.
    func checkVideo(_ video: Value, operation: String, chunked: Bool, first: Bool = true) throws {
        let c = configuration
        func fail(_ reason: String) -> AutoencoderKLWanError {
            .invalidInput(operation: operation, shape: video.shape, reason: reason)
        }
        guard video.rank == 5, video.shape[1] == c.videoChannels else {
            throw fail("expected a video [B, \(c.videoChannels), frames, height, width]")
        }
        let step = c.temporalCompression
        let frames = video.shape[2]
        if chunked {
            let expected = first ? 1 : step
            guard frames == expected else {
                throw fail(
                    "\(first ? "the first chunk" : "a chunk after the first") has \(expected) frame(s), got "
                        + "\(frames) (diffusers encodes the first frame, then \(step) at a time)")
            }
        } else {
            guard (frames - 1) % step == 0 else {
                throw fail(
                    "\(frames) frames: the encoder takes 1 + \(step)k frames (e.g. \(1 + step * ((frames - 1) / step)) "
                        + "or \(1 + step * ((frames - 1) / step + 1)))")
            }
        }
        let s = c.spatialCompression
        guard video.shape[3] % s == 0, video.shape[4] % s == 0 else {
            throw fail(
                "height \(video.shape[3]) and width \(video.shape[4]) must be multiples of \(s), the VAE's "
                    + "spatial compression")
        }
    }

    // MARK: Decoding

    /// The video [B, 3, 1 + 4 (T − 1), h · s, w · s] decoded from latents [B, z_dim, T, h, w], recorded as one pass
    /// over the whole clip and clamped to [−1, 1], as diffusers' `decode` (which runs frame by frame: the same
    /// values). With `tiles`, a frame larger than one tile is decoded in diffusers' overlapping tiles
    /// (`enable_tiling`). For long clips use `WanVAEStreamingDecoder`, whose memory does not grow with T.
    public func decode(_ graph: Graph, _ latents: Value, tiles: TileConfiguration? = nil) throws -> Value {
        try checkLatents(latents, operation: "decode")
        return try recordDecode(graph, latents, previous: [], tiles: tiles).video
    }

    /// `post_quant_conv`, the decoder with `pass`'s cache, `unpatchify` and the clamp.
    func decodeChunk(_ pass: WanVAEPass, _ latents: Value) throws -> Value {
        try finishFrames(pass.graph, decodePatched(pass, latents))
    }

    /// `post_quant_conv` and the decoder with `pass`'s cache: the frames still patchified (what tiles blend).
    func decodePatched(_ pass: WanVAEPass, _ latents: Value) throws -> Value {
        let z = try CausalConv3d.pointwise(weights.scoped("post_quant_conv"))(pass.graph, latents)
        let frames = try decoder(pass, z)
        try pass.finish()
        return frames
    }

    /// Decoder output → video: `unpatchify` and the clamp to [−1, 1].
    func finishFrames(_ graph: Graph, _ frames: Value) throws -> Value {
        let video = try Self.unpatchify(graph, frames, patch: configuration.patch)
        let low = try graph.input([-1], shape: [1])
        let high = try graph.input([1], shape: [1])
        return try graph.binary(.minimum, graph.binary(.maximum, video, low), high)
    }

    func checkLatents(_ latents: Value, operation: String) throws {
        guard latents.rank == 5, latents.shape[1] == configuration.zDim else {
            throw AutoencoderKLWanError.invalidInput(
                operation: operation, shape: latents.shape,
                reason: "expected latents [B, \(configuration.zDim), frames, height, width]")
        }
    }

    /// Frames one decoder call gives for `latentFrames` latent frames: 1 + f (T − 1) for the first chunk, f T after.
    public func decodedFrames(latentFrames: Int, firstChunk: Bool) -> Int {
        let step = configuration.temporalCompression
        return firstChunk ? 1 + step * (latentFrames - 1) : step * latentFrames
    }
}

extension AutoencoderKLWanConfig {
    /// A short description for messages.
    var summary: String {
        "a Wan \(isResidual ? "2.2" : "2.1")-style VAE with base_dim \(baseDim), z_dim \(zDim), dim_mult \(dimMult), "
            + "num_res_blocks \(numResBlocks)"
    }
}
