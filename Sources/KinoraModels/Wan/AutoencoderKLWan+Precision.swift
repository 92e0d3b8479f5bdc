import KinoraTensor

/// The activation type the Wan VAE runs in: by default its weights' (diffusers runs `AutoencoderKLWan` in the
/// pipeline's `torch_dtype` with nothing kept f32; Wan's own code keeps the VAE f32, which f32 weights or
/// `--precision fp32` give), or the one `--precision` asks for. The latents' un-normalisation reads and writes f32 on
/// the host's side of the decode.
extension AutoencoderKLWan {
    /// The type of the bulk of the weights (`WeightStore.prevailingDeviceType`).
    public var weightsType: DType { weights.store.prevailingDeviceType(under: weights.prefix) }

    /// The activation type of a pass at `precision`: `precision`'s, or without one the weights' type's.
    public func activationType(_ precision: ActivationPrecision?) -> DType {
        ActivationPrecision.resolve(precision, weights: weightsType).dtype
    }
}
