import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanUpBlock` (Wan 2.1's decoder levels): `num_res_blocks + 1` residual blocks, then the
    /// upsampler (`upsamplers.0`, halving the width) on every level but the last.
    struct UpBlock: Sendable {
        let resnets: [ResidualBlock]
        let upsampler: Resample?

        func callAsFunction(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            var h = x
            for resnet in resnets { h = try resnet(pass, h) }
            if let upsampler { h = try upsampler(pass, h) }
            return h
        }
    }
}
