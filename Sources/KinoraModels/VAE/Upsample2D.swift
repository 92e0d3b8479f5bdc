import KinoraTensor

extension AutoencoderKL {
    /// diffusers' `Upsample2D` with a convolution: nearest-neighbour 2× upsampling, then a 3×3 convolution.
    struct Upsample2D: Sendable {
        let weights: DeviceWeights
        let channels: Int

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            try VAELayers.conv(graph, graph.upsampleNearest2x(x), weights.scoped("conv"), padding: 1)
        }

        func trace(_ t: inout ActivationTrace, _ x: ActivationTrace.Traced) -> ActivationTrace.Traced {
            let up = t.op([x.shape[0], x.shape[1], 2 * x.shape[2], 2 * x.shape[3]], reads: [x])
            return t.conv(up, outChannels: channels, kernel: 3, padding: 1)
        }
    }
}
