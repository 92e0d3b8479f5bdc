import KinoraTensor

extension PiperVoice {
    /// Piper's `ResidualCouplingBlock` (`flow`) in reverse: for each coupling layer from the last, a channel flip and
    /// the layer's inverse, mapping the prior sample z_p to the decoder's latent z.
    struct ResidualCouplingBlock: Sendable {
        let weights: DeviceWeights
        let configuration: VITSConfiguration

        func reverse(_ graph: Graph, _ input: Value, g: Value?) throws -> Value {
            let c = configuration
            var x = input
            for coupling in (0..<c.flowCouplings).reversed() {
                x = try graph.flip(x, axis: 1)
                let layer = ResidualCouplingLayer(
                    weights: weights.scoped("flows.\(2 * coupling)"), hiddenChannels: c.flowHiddenChannels,
                    kernelSize: c.flowKernelSize, dilationRate: c.flowDilationRate, layers: c.flowLayers)
                x = try layer.reverse(graph, x, g: g)
            }
            return x
        }
    }

    /// Piper's `modules.ResidualCouplingLayer` in reverse: the first half of the channels, through `pre`, a WN and
    /// `post`, gives the mean (and, unless `mean_only`, the log-scale) that the second half is shifted (and scaled)
    /// back by.
    struct ResidualCouplingLayer: Sendable {
        let weights: DeviceWeights
        let hiddenChannels: Int
        let kernelSize: Int
        let dilationRate: Int
        let layers: Int

        func reverse(_ graph: Graph, _ x: Value, g: Value?) throws -> Value {
            let half = x.shape[1] / 2
            let parts = try graph.split(x, sizes: [half, half], axis: 1)
            var h = try VITSLayers.conv(graph, parts[0], weights.scoped("pre"))
            h = try WN(weights: weights.scoped("enc"), hiddenChannels: hiddenChannels, kernelSize: kernelSize,
                       dilationRate: dilationRate, layers: layers)(graph, h, g: g)
            let stats = try VITSLayers.conv(graph, h, weights.scoped("post"))
            var shifted: Value
            if stats.shape[1] == half {
                shifted = try graph.subtract(parts[1], stats)
            } else {
                let meanAndLogScale = try graph.split(stats, sizes: [half, half], axis: 1)
                shifted = try graph.multiply(graph.subtract(parts[1], meanAndLogScale[0]),
                                             graph.unary(.exp, meanAndLogScale[1], alpha: -1))
            }
            return try graph.concat([parts[0], shifted], axis: 1)
        }
    }
}
