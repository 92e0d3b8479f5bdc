import KinoraTensor

extension UNet2DConditionModel {
    /// The attention settings of one block: what its `Transformer2DModel`s are built from.
    struct CrossAttentionSettings {
        let heads: Int
        let layers: Int
        let crossAttentionDim: Int
        let groups: Int
        let useLinearProjection: Bool

        func transformer(_ weights: DeviceWeights, channels: Int) -> Transformer2DModel {
            Transformer2DModel(weights: weights, channels: channels, heads: heads, headDim: channels / heads,
                               layers: layers, crossAttentionDim: crossAttentionDim, groups: groups,
                               useLinearProjection: useLinearProjection)
        }
    }

    /// diffusers' `DownBlock2D` (resnets), or `CrossAttnDownBlock2D` when `crossAttention` is set (each resnet
    /// followed by a `Transformer2DModel`), then a `Downsample2D` unless it is the last block.
    struct DownBlock2D {
        let weights: DeviceWeights
        let inChannels: Int
        let outChannels: Int
        let layers: Int
        let resnets: ResnetSettings
        let crossAttention: CrossAttentionSettings?
        /// The downsampler's padding, nil for the last block (which has none).
        let downsamplePadding: Int?

        /// The block's output and the states it hands to the up path (one per layer, plus the downsampled one).
        func callAsFunction(_ graph: Graph, _ x: Value, activatedTemb: Value, context: Value) throws
            -> (hidden: Value, skips: [Value]) {
            var hidden = x
            var skips: [Value] = []
            for index in 0..<layers {
                hidden = try resnet(index)(graph, hidden, activatedTemb: activatedTemb)
                if let transformer = transformer(index) {
                    hidden = try transformer(graph, hidden, context: context)
                }
                skips.append(hidden)
            }
            if let downsampler {
                hidden = try downsampler(graph, hidden)
                skips.append(hidden)
            }
            return (hidden, skips)
        }

        /// Layer `index`'s resnet.
        func resnet(_ index: Int) -> ResnetBlock2D {
            resnets.block(weights.scoped("resnets.\(index)"), inChannels: index == 0 ? inChannels : outChannels,
                          outChannels: outChannels)
        }

        /// Layer `index`'s transformer, nil in a block without cross-attention.
        func transformer(_ index: Int) -> Transformer2DModel? {
            crossAttention?.transformer(weights.scoped("attentions.\(index)"), channels: outChannels)
        }

        /// The downsampler, nil in the last block.
        var downsampler: Downsample2D? {
            downsamplePadding.map {
                Downsample2D(weights: weights.scoped("downsamplers.0"), channels: outChannels, padding: $0)
            }
        }
    }
}
