import KinoraTensor

/// T5's RMS norm (`UMT5LayerNorm`): `x · rsqrt(mean(x²) + ε) · weight`, with no mean subtraction and no bias, the
/// statistics in f32.
///
/// transformers rounds the normalised states to the weight's dtype before the product when the weight is f16 or
/// bf16; Kinora keeps that product in f32 and rounds the result once to the activation type. With f16 activations
/// the norm reads the f32 residual stream (`UMT5Block`) in f32 and only its result is f16, as transformers' fp16
/// UMT5 normalises its f32 stream: an f16 cast of the stream could overflow.
struct UMT5LayerNorm {
    let configuration: UMT5Config
    let weights: DeviceWeights

    /// Records the norm over the last axis of `x` [..., d_model].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let weight = try weights.value("weight", in: graph, shape: [configuration.dModel])
        guard graph.activationDType == .f16 else {
            return try graph.rmsNorm(x, weight: weight, epsilon: configuration.layerNormEpsilon)
        }
        let normed = try graph.withActivations(.f32) {
            try graph.rmsNorm(x, weight: weight, epsilon: configuration.layerNormEpsilon)
        }
        return try graph.cast(normed, to: .f16)
    }
}
