import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanResidualBlock`: `shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))))))`, both 3×3×3
    /// convolutions causal and cached; the shortcut is a 1×1×1 `conv_shortcut` when the width changes.
    struct ResidualBlock: Sendable {
        let weights: DeviceWeights
        let inDim: Int
        let outDim: Int

        func callAsFunction(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            let graph = pass.graph
            let shortcut = inDim == outDim ? x : try CausalConv3d.pointwise(weights.scoped("conv_shortcut"))(graph, x)
            var h = try graph.silu(RMSNorm(weights: weights.scoped("norm1"))(graph, x))
            h = try CausalConv3d.cube(weights.scoped("conv1"))(pass, h)
            h = try graph.silu(RMSNorm(weights: weights.scoped("norm2"))(graph, h))
            h = try CausalConv3d.cube(weights.scoped("conv2"))(pass, h)
            return try graph.add(h, shortcut)
        }
    }
}
