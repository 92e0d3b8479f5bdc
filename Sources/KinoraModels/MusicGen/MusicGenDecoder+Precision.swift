import KinoraTensor

/// The activation type MusicGen's decoder runs in: by default its weights' (an f16 checkpoint runs f16, a bf16 one
/// bf16, as transformers' `torch_dtype`), or the one `--precision` asks for. transformers' `MusicgenForCausalLM`
/// keeps nothing of it in f32 (no `_keep_in_fp32_modules`): its layer norms, attention and `lm_heads` run in the
/// model's dtype, and so do its `past_key_values`. Kinora likewise stores the KV cache (`MusicGenKVCache`), the text's
/// keys and values and the logits in the activation type, with norm statistics, softmax and accumulation in f32
/// inside the kernels; the codebook embeddings and sinusoidal positions are summed on the host in f32 and rounded
/// once by the first layer (transformers sums them in the model's dtype).
extension MusicGenDecoder: RunsInWeightsType {
    /// The type of the bulk of the decoder's weights (`WeightStore.storageType(under:)`).
    public var weightsType: DType { weights.storageType }
}
