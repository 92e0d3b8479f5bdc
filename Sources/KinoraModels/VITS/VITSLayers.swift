import KinoraTensor

/// The small layers every VITS block uses, read from a scope of `DeviceWeights`. Activations are [1, C, T]
/// (one utterance, channels before time), as in Piper's code.
enum VITSLayers {
    /// `nn.Conv1d` with the scope's `weight` and `bias`. Piper builds every convolution with a bias except the
    /// generator's `conv_post` (`biasRequired: false`, whose bias is used when an export has one); a voice without a
    /// required bias is refused, naming the tensor.
    static func conv(_ graph: Graph, _ x: Value, _ weights: DeviceWeights, stride: Int = 1, padding: Int = 0,
                     dilation: Int = 1, groups: Int = 1, biasRequired: Bool = true) throws -> Value {
        try graph.conv1d(x, weight: weights.value("weight", in: graph),
                         bias: weights.bias(in: graph, required: biasRequired), stride: stride, padding: padding,
                         dilation: dilation, groups: groups)
    }

    /// Padding that keeps the length of a stride-1 convolution (Piper's `get_padding`).
    static func samePadding(kernel: Int, dilation: Int = 1) -> Int {
        (kernel * dilation - dilation) / 2
    }

    /// Piper's `modules.LayerNorm`: layer normalisation over the channels of [1, C, T] with `gamma` and `beta`.
    static func layerNorm(_ graph: Graph, _ x: Value, _ weights: DeviceWeights) throws -> Value {
        let normalized = try graph.layerNorm(graph.transpose(x, 1, 2), weight: weights.value("gamma", in: graph),
                                             bias: weights.value("beta", in: graph), epsilon: 1e-5)
        return try graph.transpose(normalized, 1, 2)
    }

    /// `F.leaky_relu(x, slope)` for 0 ≤ slope ≤ 1, as max(x, slope · x).
    static func leakyReLU(_ graph: Graph, _ x: Value, slope: Float) throws -> Value {
        try graph.binary(.maximum, x, graph.scale(x, by: slope))
    }

    /// Zeros of `shape`, uploaded (the padding that Piper's `F.pad` adds).
    static func zeros(_ graph: Graph, _ shape: [Int]) throws -> Value {
        try graph.input([Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
    }
}
