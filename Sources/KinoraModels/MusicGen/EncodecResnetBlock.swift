import KinoraTensor

/// transformers' `EncodecResnetBlock` (SEANet's residual unit): ELU, a `residual_kernel_size` convolution dilated by
/// `dilation` to dim / compress channels, ELU, a 1×1 convolution back to dim, added to the skip path: a 1×1
/// convolution (`shortcut`) when `use_conv_shortcut`, else the input itself. Keeps the shape [N, dim, L].
struct EncodecResnetBlock: Sendable {
    let weights: DeviceWeights
    let configuration: EncodecConfig
    let dilation: Int

    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        func conv(_ name: String, dilation: Int = 1) -> EncodecConv1d {
            EncodecConv1d(weights: weights.scoped(name), configuration: configuration, dilation: dilation)
        }
        let branch = try conv("block.1.conv", dilation: dilation)(graph, graph.elu(x))
        let y = try conv("block.3.conv")(graph, graph.elu(branch))
        return try graph.add(configuration.useConvShortcut ? conv("shortcut.conv")(graph, x) : x, y)
    }
}
