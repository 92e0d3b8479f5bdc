import KinoraTensor

extension PiperVoice {
    /// Piper's `modules.DDSConv` (dilated depth-separable convolution): per layer a depthwise convolution with
    /// dilation kernel^i, layer norm, GELU, a 1×1 convolution, layer norm, GELU, and a residual add; the
    /// conditioning `g`, when given, is added to the input first.
    struct DDSConv: Sendable {
        let weights: DeviceWeights
        let channels: Int
        let kernelSize: Int
        let layers: Int

        func callAsFunction(_ graph: Graph, _ input: Value, g: Value? = nil) throws -> Value {
            var x = try g.map { try graph.add(input, $0) } ?? input
            var dilation = 1
            for layer in 0..<layers {
                var y = try VITSLayers.conv(graph, x, weights.scoped("convs_sep.\(layer)"),
                                            padding: VITSLayers.samePadding(kernel: kernelSize, dilation: dilation),
                                            dilation: dilation, groups: channels)
                y = try graph.gelu(VITSLayers.layerNorm(graph, y, weights.scoped("norms_1.\(layer)")))
                y = try VITSLayers.conv(graph, y, weights.scoped("convs_1x1.\(layer)"))
                y = try graph.gelu(VITSLayers.layerNorm(graph, y, weights.scoped("norms_2.\(layer)")))
                x = try graph.add(x, y)
                dilation *= kernelSize
            }
            return x
        }
    }
}
