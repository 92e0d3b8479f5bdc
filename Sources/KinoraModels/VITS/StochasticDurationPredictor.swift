import KinoraTensor

extension PiperVoice {
    /// Piper's `StochasticDurationPredictor` (`dp`) in reverse: the encoder's hidden states, through `pre`
    /// (plus `cond(g)` for multi-speaker voices), a DDSConv and `proj`, condition a flow that turns noise scaled by
    /// `noise_w` into log-durations. The flows run in reverse order (Flip, ConvFlow, …, ElementwiseAffine) without
    /// the first ConvFlow, which Piper drops at inference ("a useless vflow").
    struct StochasticDurationPredictor: Sendable {
        let weights: DeviceWeights
        let configuration: VITSConfiguration

        /// logw [1, 1, T] from the hidden states [1, hidden, T], the speaker embedding [1, gin, 1] and standard
        /// normal `noise` [1, 2, T].
        func callAsFunction(_ graph: Graph, _ hidden: Value, g: Value?, noise: Value, noiseScale: Float) throws
            -> Value {
            let c = configuration
            var x = try VITSLayers.conv(graph, hidden, weights.scoped("pre"))
            if let g { x = try graph.add(x, VITSLayers.conv(graph, g, weights.scoped("cond"))) }
            x = try DDSConv(weights: weights.scoped("convs"), channels: c.durationFilterChannels,
                            kernelSize: c.durationKernelSize, layers: c.durationConvLayers)(graph, x)
            x = try VITSLayers.conv(graph, x, weights.scoped("proj"))

            var z = try graph.scale(noise, by: noiseScale)
            for pair in stride(from: c.durationFlows, through: 1, by: -1) {
                z = try graph.flip(z, axis: 1)
                guard pair > 1 else { continue }
                let flow = ConvFlow(weights: weights.scoped("flows.\(2 * pair - 1)"),
                                    filterChannels: c.durationFilterChannels, kernelSize: c.durationKernelSize,
                                    convLayers: c.durationConvLayers, bins: c.splineBins, tailBound: c.splineTailBound)
                z = try flow.reverse(graph, z, g: x)
            }
            z = try ElementwiseAffine(weights: weights.scoped("flows.0")).reverse(graph, z)
            return try graph.slice(z, axis: 1, start: 0, length: 1)
        }
    }
}
