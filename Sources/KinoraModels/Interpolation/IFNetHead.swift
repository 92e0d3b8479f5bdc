import KinoraTensor

/// IFNet's feature head (`encode`, Practical-RIFE 4.25+): a stride-2 3×3 convolution 3 → 16, two 3×3 convolutions
/// 16 → 16 (each followed by leaky ReLU 0.2), and a transposed convolution back to full size with 4 channels.
struct IFNetHead {
    let layers: [(weight: Tensor, bias: Tensor)]
    let up: (weight: Tensor, bias: Tensor)

    init(_ weights: IFNetWeights) throws {
        let first = try weights.convolution("encode.cnn0", inputs: 3, outputs: 16)
        let second = try weights.convolution("encode.cnn1", inputs: 16, outputs: 16)
        let third = try weights.convolution("encode.cnn2", inputs: 16, outputs: 16)
        layers = [(first.weight, first.bias), (second.weight, second.bias), (third.weight, third.bias)]
        up = try weights.transposedConvolution("encode.cnn3", inputs: 16, outputs: 4)
    }

    /// `image` [N, 3, H, W] (H, W even) → features [N, 4, H, W].
    func callAsFunction(_ graph: Graph, _ image: Value) throws -> Value {
        var x = image
        for (index, layer) in layers.enumerated() {
            x = try graph.conv2d(
                x, weight: graph.input(layer.weight), bias: graph.input(layer.bias),
                stride: index == 0 ? (2, 2) : (1, 1), padding: (1, 1),
                epilogue: ConvEpilogue(activation: .leakyReLU(slope: 0.2)))
        }
        let phases = try graph.conv2d(x, weight: graph.input(up.weight), bias: graph.input(up.bias), padding: (1, 1))
        return try graph.pixelShuffle(phases, factor: 2)
    }
}
