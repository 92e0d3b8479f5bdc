import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `UpBlock2D`, or `CrossAttnUpBlock2D` when `crossAttention` is set: each layer concatenates the
    /// next skip state from the down path on the channels, runs a resnet (and a `Transformer2DModel`), then an
    /// `Upsample2D` unless it is the last block.
    struct UpBlock2D {
        let weights: DeviceWeights
        /// The channels of the matching down block's input (those of its last skip state).
        let inChannels: Int
        let outChannels: Int
        /// The channels coming from the block below.
        let previousOutChannels: Int
        let layers: Int
        let resnets: ResnetSettings
        let crossAttention: CrossAttentionSettings?
        let upsamples: Bool

        /// Consumes `layers` skip states from the end of `skips`; when upsampling, the output takes the spatial size
        /// of the skip state left last (as diffusers' `upsample_size`).
        func callAsFunction(_ graph: Graph, _ x: Value, skips: inout [Value], activatedTemb: Value,
                            context: Value) throws -> Value {
            var hidden = x
            for index in 0..<layers {
                hidden = try resnetLayer(index, graph, hidden, skip: skips.removeLast(),
                                         activatedTemb: activatedTemb)
                if let transformer = transformer(index) {
                    hidden = try transformer(graph, hidden, context: context)
                }
            }
            guard let upsampler else { return hidden }
            return try upsampler(graph, hidden, outputSize: upsampleSize(nextSkip: skips.last?.shape))
        }

        /// Layer `index`'s resnet over `hidden` joined on the channels with its skip state from the down path.
        func resnetLayer(_ index: Int, _ graph: Graph, _ hidden: Value, skip: Value, activatedTemb: Value) throws
            -> Value {
            let skipChannels = index == layers - 1 ? inChannels : outChannels
            let resnetIn = index == 0 ? previousOutChannels : outChannels
            guard skip.shape[1] == skipChannels, skip.shape[2...] == hidden.shape[2...] else {
                throw UNetError.invalidInput(name: "\(weights.prefix) skip \(index)", shape: skip.shape,
                                             reason: "does not match the up path's \(hidden.shape)")
            }
            let resnet = resnets.block(weights.scoped("resnets.\(index)"), inChannels: resnetIn + skipChannels,
                                       outChannels: outChannels)
            return try resnet(graph, graph.concat([hidden, skip], axis: 1), activatedTemb: activatedTemb)
        }

        /// Layer `index`'s transformer, nil in a block without cross-attention.
        func transformer(_ index: Int) -> Transformer2DModel? {
            crossAttention?.transformer(weights.scoped("attentions.\(index)"), channels: outChannels)
        }

        /// The upsampler, nil in the last block.
        var upsampler: Upsample2D? {
            upsamples ? Upsample2D(weights: weights.scoped("upsamplers.0"), channels: outChannels) : nil
        }

        /// The upsampler's output size: that of the skip state the next block consumes first.
        func upsampleSize(nextSkip: [Int]?) throws -> (Int, Int) {
            guard let nextSkip else {
                throw UNetError.unsupportedConfiguration("\(weights.prefix) upsamples but no skip state is left")
            }
            return (nextSkip[2], nextSkip[3])
        }
    }
}
