import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `ResnetBlock2D` as the UNet uses it ("default" time-embedding mode, SiLU, no up/down sampling):
    /// `(shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))) + time_emb_proj(silu(temb)))))) / outputScaleFactor`,
    /// where the shortcut is a 1×1 `conv_shortcut` when the channel count changes.
    struct ResnetBlock2D {
        let weights: DeviceWeights
        let inChannels: Int
        let outChannels: Int
        let tembChannels: Int
        let groups: Int
        let epsilon: Float
        let outputScaleFactor: Float

        /// `x` [B, inChannels, H, W] and `activatedTemb` = silu(temb) [B or 1, tembChannels] →
        /// [B, outChannels, H, W].
        func callAsFunction(_ graph: Graph, _ x: Value, activatedTemb: Value) throws -> Value {
            var hidden = try Layers.groupNorm(graph, weights.scoped("norm1"), x, groups: groups, epsilon: epsilon)
            hidden = try Layers.conv2d(graph, weights.scoped("conv1"), graph.silu(hidden), inChannels: inChannels,
                                       outChannels: outChannels, kernel: 3)
            let projection = try Layers.linear(graph, weights.scoped("time_emb_proj"), activatedTemb,
                                               inFeatures: tembChannels, outFeatures: outChannels)
            hidden = try graph.add(hidden, graph.reshape(projection, [projection.shape[0], outChannels, 1, 1]))
            hidden = try Layers.groupNorm(graph, weights.scoped("norm2"), hidden, groups: groups, epsilon: epsilon)
            hidden = try Layers.conv2d(graph, weights.scoped("conv2"), graph.silu(hidden), inChannels: outChannels,
                                       outChannels: outChannels, kernel: 3)
            var shortcut = x
            if inChannels != outChannels || weights.contains("conv_shortcut.weight") {
                shortcut = try Layers.conv2d(graph, weights.scoped("conv_shortcut"), x, inChannels: inChannels,
                                             outChannels: outChannels, kernel: 1)
            }
            let sum = try graph.add(shortcut, hidden)
            return outputScaleFactor == 1 ? sum : try graph.scale(sum, by: 1 / outputScaleFactor)
        }
    }
}

extension UNet2DConditionModel {
    /// What every `ResnetBlock2D` of one UNet shares: the time-embedding width, the group norms and the output scale.
    struct ResnetSettings {
        let tembChannels: Int
        let groups: Int
        let epsilon: Float
        let outputScaleFactor: Float

        func block(_ weights: DeviceWeights, inChannels: Int, outChannels: Int) -> ResnetBlock2D {
            ResnetBlock2D(weights: weights, inChannels: inChannels, outChannels: outChannels,
                          tembChannels: tembChannels, groups: groups, epsilon: epsilon,
                          outputScaleFactor: outputScaleFactor)
        }
    }
}
