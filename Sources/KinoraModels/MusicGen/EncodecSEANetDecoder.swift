import KinoraTensor

/// transformers' `EncodecDecoder` (SEANet's decoder), in two parts so that long audio can be decoded in pieces:
/// `head`, the first convolution (hidden_size → the widest width) and the LSTM, which runs over every frame in
/// order; and `upsample`, the convolutional rest: per stride ELU, a transposed convolution that halves the width,
/// `num_residual_layers` residual blocks (dilations growing by `dilation_growth_rate`), then ELU and a
/// `last_kernel_size` convolution to the audio channels. The weights are `layers.{i}` in transformers' order.
struct EncodecSEANetDecoder: Sendable {
    let weights: DeviceWeights
    let configuration: EncodecConfig

    /// [N, hidden_size, T] → [N, widest, T].
    func head(_ graph: Graph, _ embeddings: Value) throws -> Value {
        let x = try conv(0)(graph, embeddings)
        return try EncodecLSTM(weights: weights.scoped("layers.1.lstm"), layers: configuration.numLstmLayers)(graph, x)
    }

    /// [N, widest, T] → [N, audio_channels, T · hop_length].
    func upsample(_ graph: Graph, _ hidden: Value) throws -> Value {
        var x = hidden
        for (index, stride) in configuration.upsamplingRatios.enumerated() {
            let layer = Self.blockLayer(index, configuration)
            let up = EncodecConvTranspose1d(
                weights: weights.scoped("layers.\(layer + 1).conv"), configuration: configuration, stride: stride)
            x = try up(graph, graph.elu(x))
            for (offset, dilation) in Self.dilations(configuration).enumerated() {
                let block = EncodecResnetBlock(
                    weights: weights.scoped("layers.\(layer + 2 + offset)"), configuration: configuration,
                    dilation: dilation)
                x = try block(graph, x)
            }
        }
        return try conv(Self.blockLayer(configuration.upsamplingRatios.count, configuration) + 1)(graph, graph.elu(x))
    }

    /// The convolution `layers.{layer}`.
    private func conv(_ layer: Int) -> EncodecConv1d {
        EncodecConv1d(weights: weights.scoped("layers.\(layer).conv"), configuration: configuration)
    }

    /// The index in `layers` of the ELU that opens block `index` (with `index` = the number of strides: the one
    /// before the last convolution). Each block is an ELU, a transposed convolution and its residual blocks.
    static func blockLayer(_ index: Int, _ configuration: EncodecConfig) -> Int {
        2 + index * (2 + configuration.numResidualLayers)
    }

    /// The dilations of a block's residual blocks: 1, g, g², … for `dilation_growth_rate` g.
    static func dilations(_ configuration: EncodecConfig) -> [Int] {
        (0..<configuration.numResidualLayers).map { power in
            (0..<power).reduce(1) { product, _ in product * configuration.dilationGrowthRate }
        }
    }
}
