import KinoraTensor

extension PiperVoice {
    /// Piper's `modules.WN` (the WaveNet-style stack in each coupling layer): per layer a dilated convolution
    /// (`in_layers`, dilation rate^i) plus the layer's slice of `cond_layer(g)`, the gated activation
    /// tanh(a) · sigmoid(b), and a 1×1 `res_skip_layers` convolution whose first half updates the residual stream and
    /// whose second half (all of it in the last layer) adds to the output.
    struct WN: Sendable {
        let weights: DeviceWeights
        let hiddenChannels: Int
        let kernelSize: Int
        let dilationRate: Int
        let layers: Int

        func callAsFunction(_ graph: Graph, _ input: Value, g: Value?) throws -> Value {
            let hidden = hiddenChannels
            var x = input
            var output: Value?
            let conditioning = try g.map { try VITSLayers.conv(graph, $0, weights.scoped("cond_layer")) }
            var dilation = 1
            for layer in 0..<layers {
                var activations = try VITSLayers.conv(
                    graph, x, weights.scoped("in_layers.\(layer)"),
                    padding: VITSLayers.samePadding(kernel: kernelSize, dilation: dilation), dilation: dilation)
                if let conditioning {
                    activations = try graph.add(activations, graph.slice(conditioning, axis: 1,
                                                                         start: layer * 2 * hidden, length: 2 * hidden))
                }
                let gates = try graph.split(activations, sizes: [hidden, hidden], axis: 1)
                let acts = try graph.multiply(graph.tanh(gates[0]), graph.sigmoid(gates[1]))
                let resSkip = try VITSLayers.conv(graph, acts, weights.scoped("res_skip_layers.\(layer)"))
                var skip = resSkip
                if layer < layers - 1 {
                    let halves = try graph.split(resSkip, sizes: [hidden, hidden], axis: 1)
                    x = try graph.add(x, halves[0])
                    skip = halves[1]
                }
                output = try output.map { try graph.add($0, skip) } ?? skip
                dilation *= dilationRate
            }
            return output ?? input
        }
    }
}
