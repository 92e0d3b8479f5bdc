import KinoraTensor

/// The activation type a Wan transformer's passes run in: by default its weights' (an f16 file runs f16 activations,
/// a bf16 or float8 one bf16, as diffusers' `torch_dtype`), or the one `--precision` asks for. Whatever the type, the
/// time embedding, the modulation and the gated residual adds stay f32 (`WanTimeTextEmbedding`,
/// `WanTransformerBlock`, `WanTransformerHead`) and the prediction comes back f32; the caller sets the type on the
/// graph it records a pass on (`Graph.activationDType`).
extension WanTransformer3DModel: RunsInWeightsType {
    /// The type of the bulk of the weights (`WeightStore.storageType(under:)`).
    public var weightsType: DType { weights.storageType }
}
