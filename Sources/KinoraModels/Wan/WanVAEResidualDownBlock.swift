import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanResidualDownBlock` (Wan 2.2's encoder levels): `num_res_blocks` residual blocks and, on every
    /// level but the last, the downsampler, plus the `AvgDown3D` shortcut of the block's input.
    struct ResidualDownBlock: Sendable {
        let resnets: [ResidualBlock]
        let downsampler: Resample?
        let shortcut: AvgDown3D

        func callAsFunction(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            var h = x
            for resnet in resnets { h = try resnet(pass, h) }
            if let downsampler { h = try downsampler(pass, h) }
            return try pass.graph.add(h, shortcut(pass.graph, x))
        }
    }

    /// diffusers' `AvgDown3D`: the input padded in front of time with zero frames to a multiple of f_t, each
    /// f_t × f_s × f_s block folded into the channels ([C, f_t, f_s, f_s] per output position), and consecutive
    /// groups of `in · f_t · f_s² / out` of those channels averaged.
    struct AvgDown3D: Sendable {
        let inChannels: Int
        let outChannels: Int
        let factorT: Int
        let factorS: Int

        var groupSize: Int { inChannels * factorT * factorS * factorS / outChannels }

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let (t, s) = (factorT, factorS)
            var x = x
            let padding = (t - x.shape[2] % t) % t
            if padding > 0 {
                let shape = [x.shape[0], x.shape[1], padding, x.shape[3], x.shape[4]]
                let zeros = try graph.input([Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
                x = try graph.concat([zeros, x], axis: 2)
            }
            let (batch, frames, height, width) = (x.shape[0], x.shape[2] / t, x.shape[3] / s, x.shape[4] / s)
            // [B·C, T', t, H·W] → [B·C, t, T', H·W], then per (B·C, t): [T', H', s, W', s] → [s, s, T', H', W'].
            var y = try graph.permute(
                graph.reshape(x, [batch * inChannels, frames, t, height * s * width * s]), [0, 2, 1, 3])
            y = try graph.permute(
                graph.reshape(y, [batch * inChannels * t, frames, height, s, width, s]),
                [0, 3, 5, 1, 2, 4])
            y = try graph.reshape(y, [batch, outChannels, groupSize, frames * height * width])
            return try graph.reshape(graph.mean(y, axis: 2), [batch, outChannels, frames, height, width])
        }
    }
}
