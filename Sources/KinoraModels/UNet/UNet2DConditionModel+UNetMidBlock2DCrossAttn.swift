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
            var hidden = try resnet(0)(graph, x, activatedTemb: activatedTemb)
            hidden = try transformer(graph, hidden, context: context)
            return try resnet(1)(graph, hidden, activatedTemb: activatedTemb)
        }

        /// `resnets.0` (before the transformer) or `resnets.1` (after it).
        func resnet(_ index: Int) -> ResnetBlock2D {
            resnets.block(weights.scoped("resnets.\(index)"), inChannels: channels, outChannels: channels)
        }

        var transformer: Transformer2DModel {
            crossAttention.transformer(weights.scoped("attentions.0"), channels: channels)
        }
    }
}
