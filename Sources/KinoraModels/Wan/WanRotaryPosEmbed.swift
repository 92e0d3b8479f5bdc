import KinoraGPU
import KinoraTensor

/// diffusers' `WanRotaryPosEmbed`: 3-D rotary position embedding over the patch grid. A head of D channels is split
/// into bands for t, h and w (`D − 4·⌊D/6⌋`, `2·⌊D/6⌋`, `2·⌊D/6⌋`: 44/42/42 for D = 128); pair q of an axis's band
/// turns by `position · θ^(−2q / band)` with θ = 10000 and the token's integer patch index on that axis, computed in
/// float64 and rounded to f32 (`get_1d_rotary_pos_embed(..., freqs_dtype=torch.float64)`).
///
/// The pairs are adjacent channels (`x[..., 0::2]`, `x[..., 1::2]`): diffusers' `apply_rotary_emb` in
/// `WanAttnProcessor` turns (x₂ₚ, x₂ₚ₊₁) into (x₂ₚ·cos − x₂ₚ₊₁·sin, x₂ₚ·sin + x₂ₚ₊₁·cos), which is
/// `Graph.applyRotary(..., interleaved: true)` with one table column per pair.
struct WanRotaryPosEmbed {
    static let theta = 10000.0
    let configuration: WanTransformer3DConfig

    /// The cos and sin tables [F'·H'·W', D/2] of `grid`'s tokens, row-major, column p for pair p of a head; the
    /// frames sit at positions `frameOffset ..< frameOffset + F'` (a chunk that continues a causal video).
    func tables(_ grid: WanPatchGrid, frameOffset: Int = 0) throws -> (cos: [Float], sin: [Float]) {
        try tables(frames: grid.patchFrames, height: grid.patchHeight, width: grid.patchWidth, frameOffset: frameOffset)
    }

    /// The tables of `frames` × `height` × `width` patches, the frames at `frameOffset ..< frameOffset + frames`.
    func tables(frames: Int, height: Int, width: Int, frameOffset: Int = 0) throws -> (cos: [Float], sin: [Float]) {
        let positions = RotaryPositions.grid(frames: frames, height: height, width: width, frameOffset: frameOffset)
        return try positions.table(
            headDim: configuration.attentionHeadDim, splits: configuration.rotarySplits, theta: Self.theta)
    }

    /// `tables` uploaded to `device`, each [L, D/2].
    func tensors(_ grid: WanPatchGrid, frameOffset: Int = 0, on device: GPUDevice) throws -> (cos: Tensor, sin: Tensor)
    {
        try tensors(
            frames: grid.patchFrames, height: grid.patchHeight, width: grid.patchWidth, frameOffset: frameOffset,
            on: device)
    }

    /// The tables of `frames` × `height` × `width` patches uploaded to `device`, each [L, D/2].
    func tensors(frames: Int, height: Int, width: Int, frameOffset: Int = 0, on device: GPUDevice) throws
        -> (cos: Tensor, sin: Tensor)
    {
        let (cos, sin) = try tables(frames: frames, height: height, width: width, frameOffset: frameOffset)
        let shape = [frames * height * width, configuration.attentionHeadDim / 2]
        return (try Tensor(cos, shape: shape, on: device), try Tensor(sin, shape: shape, on: device))
    }

    /// `tables` as graph inputs.
    func values(_ graph: Graph, _ grid: WanPatchGrid, frameOffset: Int = 0) throws -> (cos: Value, sin: Value) {
        let (cos, sin) = try tensors(grid, frameOffset: frameOffset, on: graph.device)
        return (graph.input(cos), graph.input(sin))
    }
}
