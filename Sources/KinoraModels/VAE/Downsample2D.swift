import KinoraTensor

extension AutoencoderKL {
    /// diffusers' `Downsample2D` as `DownEncoderBlock2D` builds it (`padding=0`): the input is padded with one zero
    /// column on the right and one zero row at the bottom (`F.pad(x, (0, 1, 0, 1))`), then a 3×3 stride-2 convolution
    /// without padding runs. `conv2d` pads symmetrically only, so the asymmetric pad is built by concatenating zeros
    /// (uploaded once per call, a [N, C, H, 1] column and a [N, C, 1, W + 1] row).
    struct Downsample2D: Sendable {
        let weights: DeviceWeights

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let column = try graph.input([Float](repeating: 0, count: batch * channels * height),
                                         shape: [batch, channels, height, 1])
            let row = try graph.input([Float](repeating: 0, count: batch * channels * (width + 1)),
                                      shape: [batch, channels, 1, width + 1])
            let padded = try graph.concat([graph.concat([x, column], axis: 3), row], axis: 2)
            return try VAELayers.conv(graph, padded, weights.scoped("conv"), stride: 2, padding: 0)
        }
    }
}
