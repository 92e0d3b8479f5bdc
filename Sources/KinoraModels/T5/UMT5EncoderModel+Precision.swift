import KinoraTensor

/// The activation type UMT5 runs in: by default its weights' (`ActivationPrecision.resolve`), or `--precision`'s.
/// With f16 the residual stream, its norms and `wo` stay f32 as in transformers' fp16 T5 (`UMT5Block`,
/// `UMT5LayerNorm`, `UMT5FeedForward`); with bf16 everything is bf16 but the attention mask (the relative position
/// bias and the padding), which is f32 in every type as attention reads it (`UMT5Block`). Wan's prompt embeddings
/// leave in f32 either way (`wanPromptEmbeds`).
extension UMT5EncoderModel: RunsInWeightsType {
    /// The type of the bulk of the weights (`WeightStore.storageType(under:)`).
    public var weightsType: DType { weights.storageType }
}
