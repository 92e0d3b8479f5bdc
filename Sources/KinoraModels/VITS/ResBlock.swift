import KinoraTensor

extension PiperVoice {
    /// HiFi-GAN's multi-receptive-field residual block as Piper writes it (`modules.ResBlock1`/`ResBlock2`): each
    /// step is leaky ReLU(0.1) and a dilated convolution — `ResBlock1` adds a second, undilated one
    /// (`convs1[i]`, `convs2[i]`), `ResBlock2` has only `convs[i]` — added back to the input.
    struct ResBlock: Sendable {
        let weights: DeviceWeights
        /// "1" or "2", as Piper's `resblock` setting.
        let kind: String
        let kernelSize: Int
        let dilations: [Int]

        static let slope: Float = 0.1

        func callAsFunction(_ graph: Graph, _ input: Value) throws -> Value {
            var x = input
            for (index, dilation) in dilations.enumerated() {
                var xt = try VITSLayers.leakyReLU(graph, x, slope: Self.slope)
                let first = weights.scoped(kind == "1" ? "convs1.\(index)" : "convs.\(index)")
                xt = try VITSLayers.conv(graph, xt, first, padding: VITSLayers.samePadding(kernel: kernelSize,
                                                                                             dilation: dilation),
                                         dilation: dilation)
                if kind == "1" {
                    xt = try VITSLayers.leakyReLU(graph, xt, slope: Self.slope)
                    xt = try VITSLayers.conv(graph, xt, weights.scoped("convs2.\(index)"),
                                             padding: VITSLayers.samePadding(kernel: kernelSize))
                }
                x = try graph.add(xt, x)
            }
            return x
        }
    }
}
