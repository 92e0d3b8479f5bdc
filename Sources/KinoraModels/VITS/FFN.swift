import KinoraTensor

extension PiperVoice {
    /// Piper's `attentions.FFN` in the text encoder: two convolutions of `kernel_size` with "same" padding and a
    /// ReLU between them (no mask: one utterance has no padding).
    struct FFN: Sendable {
        let weights: DeviceWeights
        let kernelSize: Int

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let padding = VITSLayers.samePadding(kernel: kernelSize)
            let hidden = try graph.unary(.relu, VITSLayers.conv(graph, x, weights.scoped("conv_1"), padding: padding))
            return try VITSLayers.conv(graph, hidden, weights.scoped("conv_2"), padding: padding)
        }
    }
}
