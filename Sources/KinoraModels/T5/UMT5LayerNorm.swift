import KinoraTensor

/// T5's RMS norm (`UMT5LayerNorm`): `x · rsqrt(mean(x²) + ε) · weight`, with no mean subtraction and no bias, the
/// statistics in f32.
///
/// transformers rounds the normalised states to the weight's dtype before the product when the weight is f16 or
/// bf16; Kinora's activations stay f32, so with half weights it keeps that product in f32 (as an fp32 model does).
struct UMT5LayerNorm {
    let configuration: UMT5Config
    let weights: DeviceWeights

    /// Records the norm over the last axis of `x` [..., d_model].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        try graph.rmsNorm(
            x, weight: weights.value("weight", in: graph, shape: [configuration.dModel]),
            epsilon: configuration.layerNormEpsilon)
    }
}
