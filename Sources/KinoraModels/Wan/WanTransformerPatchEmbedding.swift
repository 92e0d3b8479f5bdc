import KinoraTensor

/// The latent of one pass and the patch grid the transformer sees: [B, C, F, H, W] cut into (p_t, p_h, p_w) patches,
/// F' × H' × W' of them per sample, as tokens in (t, h, w) order.
struct WanPatchGrid: Equatable {
    let batch: Int
    let channels: Int
    /// Latent frames, height and width.
    let frames: Int, height: Int, width: Int
    /// Patches along t, h and w (diffusers' `post_patch_num_frames`, `post_patch_height`, `post_patch_width`).
    let patchFrames: Int, patchHeight: Int, patchWidth: Int

    var tokensPerFrame: Int { patchHeight * patchWidth }
    var tokens: Int { patchFrames * tokensPerFrame }

    /// The grid of a latent of `shape`, checked against `configuration`: five axes, the model's input channels,
    /// sizes the patch divides (diffusers' strided Conv3d would drop the remainder and return a smaller prediction),
    /// and no more patches along any axis than the rotary table holds.
    init(latent shape: [Int], configuration: WanTransformer3DConfig) throws {
        func fail(_ reason: String) -> WanTransformerError { .invalidLatent(shape: shape, reason: reason) }
        guard shape.count == 5, shape.allSatisfy({ $0 > 0 }) else {
            throw fail("expected [batch, channels, frames, height, width]")
        }
        guard shape[1] == configuration.inChannels else {
            throw fail(
                "\(shape[1]) channels, but this transformer takes \(configuration.inChannels) (16 for the Wan 2.1 "
                    + "VAE's latents, 48 for the Wan 2.2 VAE's)")
        }
        let patch = configuration.patchSize
        for (axis, name) in [(2, "frames"), (3, "height"), (4, "width")] where shape[axis] % patch[axis - 2] != 0 {
            throw fail(
                "\(name) \(shape[axis]) is not divisible by the patch size \(patch[axis - 2]) (patch_size \(patch))")
        }
        (batch, channels, frames, height, width) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        (patchFrames, patchHeight, patchWidth) = (frames / patch[0], height / patch[1], width / patch[2])
        let longest = max(patchFrames, patchHeight, patchWidth)
        guard longest <= configuration.ropeMaxSeqLen else {
            throw fail(
                "\(patchFrames) × \(patchHeight) × \(patchWidth) patches: the rotary table covers at most "
                    + "\(configuration.ropeMaxSeqLen) along each axis (rope_max_seq_len)")
        }
    }
}

/// diffusers' `patch_embedding`: `nn.Conv3d(in_channels, inner_dim, kernel_size=patch_size, stride=patch_size)`
/// followed by `flatten(2).transpose(1, 2)`. Kernel and stride being equal, the convolution is a linear layer over
/// each patch's `C · p_t · p_h · p_w` values in the kernel's (c, t, h, w) order: the latent is regrouped into
/// patches by two permutes, then multiplied by the kernel viewed as [inner_dim, C · p_t · p_h · p_w].
struct WanTransformerPatchEmbedding {
    let configuration: WanTransformer3DConfig
    /// The weights under `patch_embedding`.
    let weights: DeviceWeights

    /// The tokens [B, F'·H'·W', inner_dim] of the latent `x` [B, C, F, H, W].
    func callAsFunction(_ graph: Graph, _ x: Value, grid: WanPatchGrid) throws -> Value {
        let patch = configuration.patchSize
        let volume = configuration.patchVolume
        let width = configuration.innerDim
        let inputs = grid.channels * volume
        // [B·C·F', p_t, H', p_h, W', p_w] -> [B·C·F', H', W', p_t, p_h, p_w]
        let planes = try graph.reshape(
            x,
            [
                grid.batch * grid.channels * grid.patchFrames, patch[0], grid.patchHeight, patch[1], grid.patchWidth,
                patch[2],
            ])
        let cut = try graph.permute(planes, [0, 2, 4, 1, 3, 5])
        // [B, C, L, volume] -> [B, L, C, volume]
        let byChannel = try graph.reshape(cut, [grid.batch, grid.channels, grid.tokens, volume])
        let patches = try graph.reshape(
            graph.permute(byChannel, [0, 2, 1, 3]), [grid.batch, grid.tokens, inputs])
        let kernel = try weights.value("weight", in: graph, shape: [width, grid.channels] + patch)
        return try graph.linear(
            patches, weight: graph.reshape(kernel, [width, inputs]),
            bias: weights.bias(in: graph, shape: [width], required: true))
    }

    /// diffusers' unpatchify: `x` [B, L, C_out·p_t·p_h·p_w] (each token's outputs in (p_t, p_h, p_w, c) order, as
    /// `proj_out` gives them) reshaped to [B, F', H', W', p_t, p_h, p_w, C_out], permuted to
    /// [B, C_out, F', p_t, H', p_h, W', p_w] and flattened to [B, C_out, F, H, W], in two permutes.
    static func unpatchify(
        _ graph: Graph, _ x: Value, grid: WanPatchGrid, configuration: WanTransformer3DConfig
    ) throws -> Value {
        let patch = configuration.patchSize
        let volume = configuration.patchVolume
        let channels = configuration.outChannels
        // [B, L, volume, C] -> [B, C, L, volume]
        let byToken = try graph.reshape(x, [grid.batch, grid.tokens, volume, channels])
        let byChannel = try graph.permute(byToken, [0, 3, 1, 2])
        // [B·C, F', H', W', p_t, p_h, p_w] -> [B·C, F', p_t, H', p_h, W', p_w]
        let patches = try graph.reshape(
            byChannel,
            [
                grid.batch * channels, grid.patchFrames, grid.patchHeight, grid.patchWidth, patch[0], patch[1],
                patch[2],
            ])
        let frames = try graph.permute(patches, [0, 1, 4, 2, 5, 3, 6])
        return try graph.reshape(frames, [grid.batch, channels, grid.frames, grid.height, grid.width])
    }
}
