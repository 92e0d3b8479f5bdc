import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanRMS_norm` (channel first, no bias in the VAE): `F.normalize(x, dim=1) · √C · gamma`, the
    /// channels of each position divided by their root mean square.
    struct RMSNorm: Sendable {
        let weights: DeviceWeights

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            try graph.channelRMSNorm(x, weight: weights.value("gamma", in: graph))
        }
    }
}
