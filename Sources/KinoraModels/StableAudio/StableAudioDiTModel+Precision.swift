import KinoraTensor

/// The activation type Stable Audio's DiT runs in: by default its weights' (an f16 file runs f16 activations, a bf16
/// one bf16, as diffusers' `torch_dtype`), or the one `--precision` asks for; the caller sets it on the graph it
/// records a pass on (`Graph.activationDType`). diffusers' `StableAudioDiTModel` keeps nothing in f32 but the rotary
/// products (`apply_rotary_emb` turns `x.float()` by f32 tables; Kinora's tables are f32 and each pair turns in f32);
/// its layer norms and attention run in the model's dtype, which Kinora's kernels do with f32 statistics, softmax and
/// accumulation.
///
/// One exception goes the other way: diffusers computes the Gaussian Fourier time features in the model's dtype
/// (`time_proj(timestep.to(self.dtype))`), rounding their arguments 2π·t·w (up to about 20 rad) to 16 bits, which in
/// bf16 moves the phase by up to 0.06 rad. Kinora computes them in f32, as every model's time embedding, and the
/// `timestep_proj` MLP reads them rounded once to the activation type (`timeProjection`).
extension StableAudioDiTModel: RunsInWeightsType {
    /// The type of the bulk of the weights (`WeightStore.storageType(under:)`).
    public var weightsType: DType { weights.storageType }
}
