import KinoraTensor

/// The activation type Stable Audio's projection model runs in: by default its weights', or `--precision`'s, as
/// diffusers' `torch_dtype`. The seconds' Fourier features are computed in f32 (`StableAudioPositionalEmbedding`,
/// which diffusers runs in the model's dtype), for the reason the DiT's time features are
/// (`StableAudioDiTModel+Precision`); the linear layers after them run in the activation type.
extension StableAudioProjectionModel: RunsInWeightsType {
    /// The type of the bulk of the weights (`WeightStore.storageType(under:)`).
    public var weightsType: DType { weights.storageType }
}
