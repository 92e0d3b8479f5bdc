import KinoraTensor

/// The activation type EnCodec's decode runs in: by default its weights' (as transformers runs a MusicGen checkpoint's
/// `audio_encoder` in the `torch_dtype` of the whole model), or the one `--precision` asks for. transformers'
/// `EncodecModel` keeps nothing in f32; Kinora's LSTM keeps its recurrent state f32 whatever the type and rounds only
/// its output (`Graph.lstm`: over thousands of frames a forget gate near 1 would carry a 16-bit state's rounding
/// along). The summed codebook entries are uploaded in f32 and the audio read back as floats.
extension EncodecDecoder: RunsInWeightsType {
    /// The type of the bulk of the SEANet decoder's weights (`WeightStore.storageType(under:)`): the part that runs on
    /// the device.
    public var weightsType: DType { weights.scoped("decoder").storageType }
}
