import KinoraTensor

/// The activation type the Oobleck VAE runs in: by default its weights' (as diffusers' `torch_dtype`, and as
/// stable-audio-tools decodes in its pretransform's parameter dtype), or the one `--precision` asks for. diffusers'
/// `AutoencoderOobleck` keeps nothing in f32: Snake's `exp`, `sin` and reciprocal, the convolutions and the
/// posterior's softplus run in the model's dtype, which Kinora's kernels do in f32 and store rounded. The latents and
/// audio enter as f32 and the decoded audio and posterior sample are read back as floats.
extension AutoencoderOobleck: RunsInWeightsType {
    /// The type of the bulk of the weights (`WeightStore.storageType(under:)`).
    public var weightsType: DType { weights.storageType }
}
