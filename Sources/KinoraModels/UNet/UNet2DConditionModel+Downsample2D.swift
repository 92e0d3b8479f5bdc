import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `Downsample2D` with a convolution: a 3×3 `conv` of stride 2 (padding `downsample_padding`).
    struct Downsample2D {
        let weights: DeviceWeights
        let channels: Int
        let padding: Int

        /// [B, C, H, W] → [B, C, (H + 2p − 3) / 2 + 1, (W + 2p − 3) / 2 + 1].
        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            try Layers.conv2d(graph, weights.scoped("conv"), x, inChannels: channels, outChannels: channels,
                              kernel: 3, stride: 2, padding: padding)
        }
    }
}
