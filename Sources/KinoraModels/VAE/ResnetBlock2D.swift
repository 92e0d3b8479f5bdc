import KinoraTensor

/// Convolution and group-norm layers read from a scope of `DeviceWeights`, as the VAE blocks use them. Every
/// convolution and linear layer of diffusers' `AutoencoderKL` has a bias (its mid-block attention is built with
/// `bias=True`), so a checkpoint without one is refused, naming the tensor.
enum VAELayers {
    static func conv(_ graph: Graph, _ x: Value, _ weights: DeviceWeights, stride: Int = 1, padding: Int) throws
        -> Value {
        try graph.conv2d(x, weight: weights.value("weight", in: graph), bias: weights.bias(in: graph, required: true),
                         stride: (stride, stride), padding: (padding, padding))
    }

    static func groupNorm(_ graph: Graph, _ x: Value, _ weights: DeviceWeights, groups: Int) throws -> Value {
        try graph.groupNorm(x, groups: groups, weight: weights.value("weight", in: graph),
                            bias: weights.value("bias", in: graph), epsilon: 1e-6)
    }

    static func linear(_ graph: Graph, _ x: Value, _ weights: DeviceWeights) throws -> Value {
        try graph.linear(x, weight: weights.value("weight", in: graph), bias: weights.bias(in: graph, required: true))
    }
}

extension AutoencoderKL {
    /// diffusers' `ResnetBlock2D` as the VAE uses it (no time embedding, output scale 1):
    /// `shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))))))`, with a 1×1 `conv_shortcut` when the channel count
    /// changes.
    struct ResnetBlock2D: Sendable {
        let weights: DeviceWeights
        let inChannels: Int
        let outChannels: Int
        let groups: Int

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            var h = try VAELayers.groupNorm(graph, x, weights.scoped("norm1"), groups: groups)
            h = try graph.silu(h)
            h = try VAELayers.conv(graph, h, weights.scoped("conv1"), padding: 1)
            h = try VAELayers.groupNorm(graph, h, weights.scoped("norm2"), groups: groups)
            h = try graph.silu(h)
            h = try VAELayers.conv(graph, h, weights.scoped("conv2"), padding: 1)
            let shortcut = inChannels == outChannels
                ? x : try VAELayers.conv(graph, x, weights.scoped("conv_shortcut"), padding: 0)
            return try graph.add(shortcut, h)
        }

        func trace(_ t: inout ActivationTrace, _ x: ActivationTrace.Traced) -> ActivationTrace.Traced {
            var h = t.groupNorm(x, groups: groups)
            h = t.unary(h)
            h = t.conv(h, outChannels: outChannels, kernel: 3, padding: 1)
            h = t.groupNorm(h, groups: groups)
            h = t.unary(h)
            h = t.conv(h, outChannels: outChannels, kernel: 3, padding: 1)
            let shortcut = inChannels == outChannels ? x : t.conv(x, outChannels: outChannels, kernel: 1, padding: 0)
            return t.binary(shortcut, h)
        }
    }
}
