import Foundation
import KinoraTensor

extension PiperVoice {
    /// Piper's `TextEncoder` (`enc_p`): the phoneme embedding scaled by √hidden, a stack of relative-position
    /// attention and FFN layers with post-layer norms (`attentions.Encoder`), and `proj` to the prior's mean `m_p`
    /// and log-scale `logs_p`.
    struct TextEncoder: Sendable {
        /// The encoder's outputs: the hidden states `x` [1, hidden, T] (the duration predictor's input) and the
        /// prior [1, inter, T] twice.
        struct Output {
            var hidden: Value
            var mean: Value
            var logScale: Value
        }

        let weights: DeviceWeights
        let configuration: VITSConfiguration
        /// `emb.weight` on the host: the lookup of a few hundred ids runs there and uploads [T, hidden].
        let embedding: [Float]

        init(weights: DeviceWeights, configuration: VITSConfiguration) throws {
            self.weights = weights
            self.configuration = configuration
            embedding = try weights.store.floats(weights.prefix + ".emb.weight")
        }

        func callAsFunction(_ graph: Graph, phonemeIDs: [Int]) throws -> Output {
            let c = configuration
            let length = phonemeIDs.count
            var rows: [Float] = []
            rows.reserveCapacity(length * c.hiddenChannels)
            for id in phonemeIDs { rows += embedding[(id * c.hiddenChannels)..<((id + 1) * c.hiddenChannels)] }
            let embedded = try graph.scale(graph.input(rows, shape: [1, length, c.hiddenChannels]),
                                           by: Float(Double(c.hiddenChannels).squareRoot()))
            var x = try graph.transpose(embedded, 1, 2)
            let encoder = weights.scoped("encoder")
            for layer in 0..<c.layers {
                let attention = MultiHeadAttention(
                    weights: encoder.scoped("attn_layers.\(layer)"), channels: c.hiddenChannels, heads: c.heads,
                    windowSize: c.windowSize, relativeHeads: c.relativeHeads)
                x = try VITSLayers.layerNorm(graph, graph.add(x, attention(graph, x)),
                                             encoder.scoped("norm_layers_1.\(layer)"))
                let ffn = FFN(weights: encoder.scoped("ffn_layers.\(layer)"), kernelSize: c.kernelSize)
                x = try VITSLayers.layerNorm(graph, graph.add(x, ffn(graph, x)),
                                             encoder.scoped("norm_layers_2.\(layer)"))
            }
            let stats = try VITSLayers.conv(graph, x, weights.scoped("proj"))
            let prior = try graph.split(stats, sizes: [c.interChannels, c.interChannels], axis: 1)
            return Output(hidden: x, mean: prior[0], logScale: prior[1])
        }
    }
}
