import KinoraTensor

/// UMT5's feed-forward block (`UMT5DenseGatedActDense`): `wo(act(wi_0(x)) · wi_1(x))`, every projection bias-free;
/// `gated-gelu` makes `act` GELU's tanh form. An ungated configuration (`relu`, T5 v1.0's `UMT5DenseActDense`) is
/// `wo(act(wi(x)))`.
///
/// transformers keeps `wo` in f32 (`_keep_in_fp32_modules = ["wo"]`, applied to an fp16 model) and casts its input
/// to f32: with f16 activations Kinora records `wo` with f32 activations too, so its output (which the residual
/// stream adds in f32, `UMT5Block`) cannot overflow f16; with bf16 ones it runs in bf16, as transformers' bf16 model.
/// Every weight is widened to f32 in the matmul.
struct UMT5FeedForward {
    let configuration: UMT5Config
    let weights: DeviceWeights

    /// Records the block over `x` [B, L, d_model].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let (width, inner) = (configuration.dModel, configuration.dFF)
        func projection(_ name: String, _ input: Value, shape: [Int]) throws -> Value {
            try graph.linear(input, weight: weights.scoped(name).value("weight", in: graph, shape: shape))
        }
        let hidden: Value
        if configuration.isGatedAct {
            let gate = try activation(graph, projection("wi_0", x, shape: [inner, width]))
            hidden = try graph.multiply(gate, projection("wi_1", x, shape: [inner, width]))
        } else {
            hidden = try activation(graph, projection("wi", x, shape: [inner, width]))
        }
        guard graph.activationDType == .f16 else { return try projection("wo", hidden, shape: [width, inner]) }
        return try graph.withActivations(.f32) { try projection("wo", hidden, shape: [width, inner]) }
    }

    private func activation(_ graph: Graph, _ x: Value) throws -> Value {
        guard let function = configuration.activation else {
            throw UMT5Error.invalidConfiguration(
                file: weights.store.sourceName,
                reason: "feed_forward_proj '"
                    + configuration.feedForwardProj + "' is not supported")
        }
        switch function {
        case .relu: return try graph.unary(.relu, x)
        case .gelu: return try graph.gelu(x)
        case .geluNew, .geluPyTorchTanh: return try graph.gelu(x, approximate: true)
        case .silu: return try graph.silu(x)
        }
    }
}
