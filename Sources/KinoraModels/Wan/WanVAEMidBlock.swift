import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanMidBlock` (one layer): `resnets.0`, `attentions.0`, `resnets.1` at the deepest width.
    struct MidBlock: Sendable {
        let resnets: [ResidualBlock]
        let attention: AttentionBlock

        init(weights: DeviceWeights, channels: Int, fusedAttentionHeadDim: Int) {
            resnets = (0..<2).map {
                ResidualBlock(weights: weights.scoped("resnets.\($0)"), inDim: channels, outDim: channels)
            }
            attention = AttentionBlock(
                weights: weights.scoped("attentions.0"), channels: channels,
                fusedHeadDim: fusedAttentionHeadDim)
        }

        func callAsFunction(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            var h = try resnets[0](pass, x)
            h = try attention(pass.graph, h)
            return try resnets[1](pass, h)
        }
    }
}
