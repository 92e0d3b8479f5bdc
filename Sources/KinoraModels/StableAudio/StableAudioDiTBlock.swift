import KinoraFormats
import KinoraTensor

/// diffusers' `StableAudioDiTBlock`: three pre-norm residual steps, each layer norm affine with eps 1e-5:
///
/// 1. `x += attn1(norm1(x), rotary)`, self-attention over the global token and the latent frames;
/// 2. `x += attn2(norm2(x), context)`, cross-attention on the projected text-and-duration tokens;
/// 3. `x += ff(norm3(x))`, a SwiGLU feed-forward.
struct StableAudioDiTBlock {
    let configuration: StableAudioDiTConfig
    /// The weights under `transformer_blocks.N`.
    let weights: DeviceWeights

    /// The block over `x` [B, L, dim] with `context` [B, L_text, cross_attention_dim].
    func callAsFunction(_ graph: Graph, _ x: Value, context: Value, rotary: StableAudioDiTAttention.Rotary) throws
        -> Value
    {
        var hidden = x
        let selfAttention = StableAudioDiTAttention(configuration: configuration, weights: weights.scoped("attn1"))
        hidden = try graph.add(hidden, selfAttention.selfAttention(graph, norm(graph, "norm1", hidden), rotary: rotary))
        let crossAttention = StableAudioDiTAttention(configuration: configuration, weights: weights.scoped("attn2"))
        hidden = try graph.add(
            hidden, crossAttention.crossAttention(graph, norm(graph, "norm2", hidden), context: context))
        let feedForward = StableAudioDiTFeedForward(configuration: configuration, weights: weights.scoped("ff"))
        return try graph.add(hidden, feedForward(graph, norm(graph, "norm3", hidden)))
    }

    private func norm(_ graph: Graph, _ name: String, _ x: Value) throws -> Value {
        let width = configuration.innerDim
        let norm = weights.scoped(name)
        return try graph.layerNorm(
            x, weight: norm.value("weight", in: graph, shape: [width]),
            bias: norm.bias(in: graph, shape: [width], required: true), epsilon: configuration.normEpsilon)
    }
}

/// diffusers' `FeedForward(dim, activation_fn="swiglu", bias=True)`: `net.0.proj` to twice the inner width (4·dim),
/// split into values and gates, `values · silu(gates)`, and `net.2` back to dim.
struct StableAudioDiTFeedForward {
    let configuration: StableAudioDiTConfig
    /// The weights under `ff`.
    let weights: DeviceWeights

    /// The feed-forward over `x` [..., dim].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let (width, inner) = (configuration.innerDim, configuration.feedForwardDim)
        let projected = try StableAudioDiTLayers.linear(
            graph, weights.scoped("net.0.proj"), x, inputs: width, outputs: 2 * inner, bias: true)
        let halves = try graph.split(projected, sizes: [inner, inner], axis: -1)
        let gated = try graph.multiply(halves[0], graph.silu(halves[1]))
        return try StableAudioDiTLayers.linear(
            graph, weights.scoped("net.2"), gated, inputs: inner, outputs: width, bias: true)
    }
}

/// The layers the Stable Audio DiT and its projection model share, reading their parameters under PyTorch's names.
enum StableAudioDiTLayers {
    /// `nn.Linear(inputs, outputs, bias=bias)` over x's last axis.
    static func linear(
        _ graph: Graph, _ weights: DeviceWeights, _ x: Value, inputs: Int, outputs: Int, bias: Bool
    ) throws -> Value {
        try graph.linear(
            x, weight: weights.value("weight", in: graph, shape: [outputs, inputs]),
            bias: bias ? weights.bias(in: graph, shape: [outputs], required: true) : nil)
    }

    /// diffusers' `nn.Sequential(Linear, SiLU, Linear)` under `weights` (`.0` and `.2`).
    static func mlp(
        _ graph: Graph, _ weights: DeviceWeights, _ x: Value, inputs: Int, outputs: Int, bias: Bool
    ) throws -> Value {
        let hidden = try linear(graph, weights.scoped("0"), x, inputs: inputs, outputs: outputs, bias: bias)
        return try linear(graph, weights.scoped("2"), graph.silu(hidden), inputs: outputs, outputs: outputs, bias: bias)
    }

    /// Throws unless `weights` holds exactly the tensors of `shapes` (names under its scope) with those shapes:
    /// a missing one as `WeightsError.missingTensor`, a wrong shape or a tensor the configuration has no place for
    /// as `StableAudioDiTError.weightsMismatch`, naming the tensor; `sizes` describes the configuration for the
    /// message.
    static func checkWeights(_ shapes: [(name: String, shape: [Int])], in weights: DeviceWeights, sizes: String)
        throws
    {
        let file = weights.store.sourceName
        switch weights.layoutMismatch(shapes) {
        case nil: break
        case .missing(let tensor, _):
            throw WeightsError.missingTensor(file: file, tensor: tensor)
        case .wrongShape(let tensor, let expected, let found):
            throw StableAudioDiTError.weightsMismatch(
                file: file, tensor: tensor, reason: "expected shape \(expected) for \(sizes); found \(found)")
        case .extra(let tensor, _):
            throw StableAudioDiTError.weightsMismatch(
                file: file, tensor: tensor, reason: "not part of a model with \(sizes)")
        }
    }
}
