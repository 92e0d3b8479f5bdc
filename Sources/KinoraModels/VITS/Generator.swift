import KinoraTensor

extension PiperVoice {
    /// Piper's HiFi-GAN `Generator` (`dec`): `conv_pre` (plus `cond(g)` for multi-speaker voices), then per
    /// upsampling stage leaky ReLU(0.1), a transposed convolution and the mean of the stage's resblocks; finally
    /// leaky ReLU (PyTorch's default slope 0.01), `conv_post` and tanh. [1, inter, F] → [1, 1, F · hop].
    struct Generator: Sendable {
        let weights: DeviceWeights
        let configuration: VITSConfiguration

        func callAsFunction(_ graph: Graph, _ z: Value, g: Value?) throws -> Value {
            let c = configuration
            var x = try VITSLayers.conv(graph, z, weights.scoped("conv_pre"),
                                        padding: VITSLayers.samePadding(kernel: c.preKernelSize))
            if let g { x = try graph.add(x, VITSLayers.conv(graph, g, weights.scoped("cond"))) }
            let kernels = c.resblockKernelSizes.count
            for (stage, (rate, kernel)) in zip(c.upsampleRates, c.upsampleKernelSizes).enumerated() {
                x = try VITSLayers.leakyReLU(graph, x, slope: ResBlock.slope)
                let up = weights.scoped("ups.\(stage)")
                x = try graph.convTranspose1d(x, weight: up.value("weight", in: graph),
                                              bias: up.bias(in: graph, required: true), stride: rate,
                                              padding: (kernel - rate) / 2)
                var sum: Value?
                for (index, (size, dilations)) in zip(c.resblockKernelSizes, c.resblockDilationSizes).enumerated() {
                    let block = ResBlock(weights: weights.scoped("resblocks.\(stage * kernels + index)"),
                                         kind: c.resblock, kernelSize: size, dilations: dilations)
                    let y = try block(graph, x)
                    sum = try sum.map { try graph.add($0, y) } ?? y
                }
                x = try sum.map { try graph.scale($0, by: 1 / Float(kernels)) } ?? x
            }
            x = try VITSLayers.leakyReLU(graph, x, slope: 0.01)
            x = try VITSLayers.conv(graph, x, weights.scoped("conv_post"),
                                    padding: VITSLayers.samePadding(kernel: c.postKernelSize), biasRequired: false)
            return try graph.tanh(x)
        }
    }
}
