import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `UNetMidBlock2DCrossAttn`: `resnets.0`, then a `Transformer2DModel` and a resnet per layer
    /// (one layer in every UNet2DConditionModel).
    struct UNetMidBlock2DCrossAttn {
        let weights: DeviceWeights
        let channels: Int
        let resnets: ResnetSettings
        let crossAttention: CrossAttentionSettings

        /// [B, channels, H, W] → [B, channels, H, W].
        func callAsFunction(_ graph: Graph, _ x: Value, activatedTemb: Value, context: Value) throws -> Value {
            var hidden = try resnets.block(weights.scoped("resnets.0"), inChannels: channels, outChannels: channels)(
                graph, x, activatedTemb: activatedTemb)
            let transformer = crossAttention.transformer(weights.scoped("attentions.0"), channels: channels)
            hidden = try transformer(graph, hidden, context: context)
            let resnet = resnets.block(weights.scoped("resnets.1"), inChannels: channels, outChannels: channels)
            return try resnet(graph, hidden, activatedTemb: activatedTemb)
        }
    }
}
