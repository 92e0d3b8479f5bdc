import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanCausalConv3d`: a 3-D convolution whose time axis is padded only in front, with 2 · padding
    /// zeros (`_padding`), so an output frame sees its own input frame and earlier ones. Frames cached from the
    /// previous chunk take the place of as many of those zeros (`forward(x, cache_x)`); a convolution without time
    /// padding ignores the cache, as diffusers does.
    struct CausalConv3d: Sendable {
        let weights: DeviceWeights
        /// PyTorch's `padding` of the time axis: 1 for the 3×3×3 kernels and the temporal upsample, 0 otherwise.
        var timePadding: Int
        /// PyTorch's `padding` of height and width.
        var spacePadding: Int
        var timeStride = 1

        /// The 3×3×3 convolutions of the residual blocks, conv_in and conv_out.
        static func cube(_ weights: DeviceWeights) -> CausalConv3d {
            CausalConv3d(weights: weights, timePadding: 1, spacePadding: 1)
        }

        /// The 1×1×1 convolutions: `conv_shortcut`, `quant_conv`, `post_quant_conv`.
        static func pointwise(_ weights: DeviceWeights) -> CausalConv3d {
            CausalConv3d(weights: weights, timePadding: 0, spacePadding: 0)
        }

        /// The convolution of `cached` frames followed by `x` ([B, C, T, H, W]).
        func callAsFunction(_ graph: Graph, _ x: Value, cached: Value? = nil) throws -> Value {
            var input = x
            var front = 2 * timePadding
            if let cached, front > 0 {
                input = try graph.concat([cached, x], axis: 2)
                front -= cached.shape[2]
            }
            return try graph.causalConv3d(
                input, weight: weights.value("weight", in: graph), bias: weights.bias(in: graph, required: true),
                stride: (timeStride, 1, 1), padding: (spacePadding, spacePadding), frontPadding: front)
        }

        /// The convolution as diffusers' blocks call it with a feature cache: it reads its slot of `pass` (the
        /// previous chunk's last two input frames) and leaves the last two frames of this input there
        /// (`cache_x`).
        func callAsFunction(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            let cached = try pass.takeFrames()
            let y = try self(pass.graph, x, cached: cached)
            try pass.store(.frames(try pass.lastFrames(x, previous: cached)))
            return y
        }
    }

    /// A per-frame `nn.Conv2d` of the resample blocks (`resample.1`, weight [Cout, Cin, kH, kW]) on [B, C, T, H, W],
    /// as the 3-D convolution with a one-frame kernel (no reshape of the activations to [B·T, C, H, W]).
    static func frameConv(_ graph: Graph, _ x: Value, _ weights: DeviceWeights, stride: Int, padding: Int) throws
        -> Value
    {
        let weight = try weights.value("weight", in: graph)
        guard weight.rank == 4 else {
            throw AutoencoderKLWanError.weightsMismatch(
                file: weights.store.sourceName, tensor: "\(weights.prefix).weight",
                reason: "expected a 2-D convolution kernel [out, in, kH, kW], found shape \(weight.shape)")
        }
        let kernel = try graph.reshape(weight, [weight.shape[0], weight.shape[1], 1, weight.shape[2], weight.shape[3]])
        return try graph.causalConv3d(
            x, weight: kernel, bias: weights.bias(in: graph, required: true), stride: (1, stride, stride),
            padding: (padding, padding))
    }
}
