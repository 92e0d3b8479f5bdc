import KinoraTensor

extension UNet2DConditionModel {
    /// The PyTorch layers the UNet's parts are made of, reading their parameters by PyTorch's names (`weight`,
    /// `bias`) under a weight scope and checking each parameter's shape as it is recorded.
    enum Layers {
        /// `nn.Conv2d(inChannels, outChannels, kernel, stride, padding)` with a bias.
        static func conv2d(_ graph: Graph, _ weights: DeviceWeights, _ x: Value, inChannels: Int, outChannels: Int,
                           kernel: Int, stride: Int = 1, padding: Int? = nil) throws -> Value {
            let weight = try weights.value("weight", in: graph, shape: [outChannels, inChannels, kernel, kernel])
            let bias = try weights.value("bias", in: graph, shape: [outChannels])
            let pad = padding ?? (kernel - 1) / 2
            return try graph.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (pad, pad))
        }

        /// `nn.Linear(inFeatures, outFeatures)` with its bias. `biasRequired` is false only for the layers diffusers
        /// builds without one (attention's `to_q`, `to_k`, `to_v`), whose bias is then used when a checkpoint has it;
        /// every other linear layer of the UNet has one, and a checkpoint without it is refused, naming the tensor.
        static func linear(_ graph: Graph, _ weights: DeviceWeights, _ x: Value, inFeatures: Int, outFeatures: Int,
                           biasRequired: Bool = true) throws -> Value {
            let weight = try weights.value("weight", in: graph, shape: [outFeatures, inFeatures])
            let bias = try weights.bias(in: graph, shape: [outFeatures], required: biasRequired)
            return try graph.linear(x, weight: weight, bias: bias)
        }

        /// `nn.GroupNorm(groups, channels, eps)` with its affine parameters.
        static func groupNorm(_ graph: Graph, _ weights: DeviceWeights, _ x: Value, groups: Int, epsilon: Float)
            throws -> Value {
            let channels = x.shape[1]
            return try graph.groupNorm(x, groups: groups, weight: weights.value("weight", in: graph, shape: [channels]),
                                       bias: weights.value("bias", in: graph, shape: [channels]), epsilon: epsilon)
        }

        /// `nn.LayerNorm(width, eps)` over the last axis with its affine parameters.
        static func layerNorm(_ graph: Graph, _ weights: DeviceWeights, _ x: Value, epsilon: Float) throws -> Value {
            let width = x.shape[x.rank - 1]
            return try graph.layerNorm(x, weight: weights.value("weight", in: graph, shape: [width]),
                                       bias: weights.value("bias", in: graph, shape: [width]), epsilon: epsilon)
        }
    }
}
