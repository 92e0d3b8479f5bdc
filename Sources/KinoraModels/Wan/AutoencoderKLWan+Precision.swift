import KinoraTensor

/// The activation type the Wan VAE runs in: f32 unless `--precision` asks for another, whatever its weights' type.
/// That is the Wan VAE's reference setting: Wan's own code runs `WanVAE` in f32, and diffusers documents loading
/// `AutoencoderKLWan` with `torch_dtype=torch.float32` beside a bf16 pipeline (its `torch_dtype` would otherwise
/// apply to the VAE too, as `--precision` does here). The latents' un-normalisation reads and writes f32 on the
/// host's side of the decode.
extension AutoencoderKLWan {
    /// The type of the bulk of the weights (`WeightStore.storageType(under:)`), for reports.
    public var weightsType: DType { weights.storageType }

    /// The activation type of a pass at `precision`: `precision`'s, or without one f32.
    public func activationType(_ precision: ActivationPrecision?) -> DType {
        precision?.dtype ?? .f32
    }
}
