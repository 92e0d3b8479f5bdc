import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `Timesteps`: the sinusoidal embedding of timesteps (`get_timestep_embedding`, scale 1,
    /// max period 10000), computed in f32 whatever the activation type, as diffusers' `Timesteps` always returns
    /// f32.
    struct Timesteps {
        let channels: Int
        let flipSinToCos: Bool
        let downscaleFreqShift: Float

        /// [timesteps.count, channels].
        func callAsFunction(_ graph: Graph, _ timesteps: [Float]) throws -> Value {
            try graph.withActivations(.f32) {
                try graph.timestepEmbedding(timesteps, dim: channels, flipSinToCos: flipSinToCos,
                                            downscaleFreqShift: downscaleFreqShift)
            }
        }
    }

    /// diffusers' `TimestepEmbedding` with SiLU: `linear_2(silu(linear_1(x)))`.
    struct TimestepEmbedding {
        let weights: DeviceWeights
        let inChannels: Int
        let timeEmbedDim: Int

        /// [N, inChannels] → [N, timeEmbedDim].
        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let hidden = try Layers.linear(graph, weights.scoped("linear_1"), x, inFeatures: inChannels,
                                           outFeatures: timeEmbedDim)
            return try Layers.linear(graph, weights.scoped("linear_2"), graph.silu(hidden), inFeatures: timeEmbedDim,
                                     outFeatures: timeEmbedDim)
        }
    }
}
