import KinoraTensor

extension AutoencoderKLWan {
    /// One decoder level: diffusers' `WanUpBlock` (Wan 2.1: `num_res_blocks + 1` residual blocks, then the
    /// upsampler `upsamplers.0` halving the width, on every level but the last) or `WanResidualUpBlock` (Wan 2.2:
    /// the same path with `upsampler` keeping the width, plus on every level but the last the `DupUp3D` shortcut of
    /// the block's input added after the upsampler). `Decoder3d.step` runs it a residual block or the upsampler at a
    /// time.
    struct UpBlock: Sendable {
        let resnets: [ResidualBlock]
        let upsampler: Resample?
        let shortcut: DupUp3D?
    }
}
