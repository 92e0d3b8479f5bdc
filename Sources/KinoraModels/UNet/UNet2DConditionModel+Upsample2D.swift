import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `Upsample2D` with a convolution: nearest-neighbour upsampling, then a 3×3 `conv`.
    struct Upsample2D {
        let weights: DeviceWeights
        let channels: Int

        /// [B, C, H, W] → [B, C, outputSize.0, outputSize.1], where the output size (that of the skip connection
        /// the next up block consumes) is at most 2H × 2W. Nearest interpolation to a size of 2H − 1 reads source
        /// row ⌊i·H / (2H − 1)⌋ = ⌊i / 2⌋, so it is the ×2 upsampling with its last row dropped (likewise columns).
        func callAsFunction(_ graph: Graph, _ x: Value, outputSize: (Int, Int)) throws -> Value {
            let (height, width) = (x.shape[2], x.shape[3])
            guard (2 * height - 1...2 * height).contains(outputSize.0),
                  (2 * width - 1...2 * width).contains(outputSize.1) else {
                throw UNetError.unsupportedConfiguration("upsampling \(height)×\(width) to \(outputSize.0)×"
                    + "\(outputSize.1): only ×2 (less one row or column) is supported")
            }
            var hidden = try graph.upsampleNearest2x(x)
            if outputSize.0 < hidden.shape[2] {
                hidden = try graph.slice(hidden, axis: 2, start: 0, length: outputSize.0)
            }
            if outputSize.1 < hidden.shape[3] {
                hidden = try graph.slice(hidden, axis: 3, start: 0, length: outputSize.1)
            }
            return try Layers.conv2d(graph, weights.scoped("conv"), hidden, inChannels: channels,
                                     outChannels: channels, kernel: 3)
        }
    }
}
