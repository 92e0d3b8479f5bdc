import KinoraTensor

/// The convolutions every Oobleck block uses, read from a scope of `DeviceWeights` as plain `weight` and `bias`
/// (the weight norm already folded, see `WeightNormFoldedStore`). Activations are [N, C, T].
enum OobleckLayers {
    /// `nn.Conv1d`; every Oobleck convolution has a bias except the decoder's last (`hasBias: false`).
    static func conv(
        _ graph: Graph, _ x: Value, _ weights: DeviceWeights, stride: Int = 1, padding: Int = 0,
        dilation: Int = 1, hasBias: Bool = true
    ) throws -> Value {
        try graph.conv1d(
            x, weight: weights.value("weight", in: graph),
            bias: hasBias ? weights.value("bias", in: graph) : nil, stride: stride, padding: padding,
            dilation: dilation)
    }

    /// The block convolutions' padding for `stride`: ⌈stride / 2⌉ (kernel 2 · stride), so even strides change the
    /// length exactly `stride`-fold.
    static func blockPadding(stride: Int) -> Int { (stride + 1) / 2 }
}
