import KinoraTensor

/// The layers the Wan transformer's blocks share, reading their parameters under PyTorch's names.
enum WanTransformerLayers {
    /// `nn.Linear(inputs, outputs)` with its bias (every linear layer of the Wan DiT has one) over x's last axis.
    static func linear(_ graph: Graph, _ weights: DeviceWeights, _ x: Value, inputs: Int, outputs: Int) throws
        -> Value
    {
        try graph.linear(
            x, weight: weights.value("weight", in: graph, shape: [outputs, inputs]),
            bias: weights.bias(in: graph, shape: [outputs], required: true))
    }
}
