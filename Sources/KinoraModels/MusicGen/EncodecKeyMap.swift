import KinoraFormats

/// The key layouts EnCodec weights ship in, mapped once at load time to the names `EncodecDecoder` reads:
/// `EncodecModel`'s, with each weight-normalised convolution as one plain `weight`.
///
/// - A standalone EnCodec (`facebook/encodec_32khz`, `EncodecModel.save_pretrained`) names its tensors
///   `encoder.*`, `decoder.*` and `quantizer.*`; a MusicGen checkpoint (`facebook/musicgen-small`,
///   `MusicgenForConditionalGeneration`) holds the same under `audio_encoder.`, beside `text_encoder.*`,
///   `decoder.*` (the language model) and `enc_to_dec_proj.*`, which are left out.
/// - transformers 5 (torch's `parametrizations.weight_norm`) saves each convolution as
///   `X.parametrizations.weight.original0` (g) / `original1` (v); the 2023 `facebook/musicgen-*` and
///   `facebook/encodec_*` files, written with `torch.nn.utils.weight_norm`, as `X.weight_g` / `X.weight_v`. Both are
///   folded by `WeightNormFoldedStore`.
public enum EncodecKeyMap {
    /// The prefix of a MusicGen checkpoint's codec.
    static let musicgenPrefix = "audio_encoder."
    /// The first LSTM layer's recurrent weight, a tensor only the codec's SEANet decoder has.
    static let anchor = "decoder.layers.1.lstm.weight_hh_l0"

    /// `store` under `EncodecModel`'s names; throws `WeightsError.unrecognizedCheckpoint` for a file with no EnCodec
    /// decoder, naming what was looked for, and `WeightNormFoldedStore`'s errors for a broken weight-norm pair.
    public static func layerNames(_ store: any WeightStore) throws -> any WeightStore {
        let names = Set(store.tensorNames)
        if names.contains(musicgenPrefix + anchor) {
            return try WeightNormFoldedStore(base: PrefixStrippedWeightStore(base: store, prefix: musicgenPrefix))
        }
        if names.contains(anchor) {
            return try WeightNormFoldedStore(base: store)
        }
        throw WeightsError.unrecognizedCheckpoint(
            file: store.sourceName,
            reason: "no EnCodec decoder in it: found neither '\(anchor)' (transformers' EncodecModel) nor "
                + "'\(musicgenPrefix + anchor)' (MusicgenForConditionalGeneration); its first tensors are "
                + store.tensorNames.prefix(3).map { "'\($0)'" }.joined(separator: ", "))
    }
}
