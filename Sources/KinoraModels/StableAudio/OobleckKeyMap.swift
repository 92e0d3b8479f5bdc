import KinoraFormats

/// The key layouts Oobleck VAE weights ship in, mapped once at load time to the names `AutoencoderOobleck`'s layers
/// read: diffusers' names with each weight-normalised convolution as one plain `weight`.
///
/// diffusers 0.42.1 (`stabilityai/stable-audio-open-1.0/vae`, `save_pretrained`) stores every convolution as
/// `X.weight_g` / `X.weight_v` (`torch.nn.utils.weight_norm`); a copy saved with the parametrization API has
/// `X.parametrizations.weight.original0` / `original1`, and one with the norm removed has `X.weight`. All three are
/// read, the pairs folded by `WeightNormFoldedStore`; a file that nests the names under a prefix (`vae.`) is read
/// without it.
enum OobleckKeyMap {
    /// The first decoder block's transposed convolution, a layer only Oobleck has, in each layout.
    static let anchors = ["weight_v", "parametrizations.weight.original1", "weight"].map {
        "decoder.block.0.conv_t1.\($0)"
    }

    /// `store` under the layers' names; throws `WeightsError.unrecognizedCheckpoint` for a file with no Oobleck
    /// decoder, naming what was looked for, and `WeightNormFoldedStore`'s errors for a broken weight-norm pair.
    static func layerNames(_ store: any WeightStore) throws -> any WeightStore {
        let names = store.tensorNames
        for anchor in anchors {
            guard let key = names.first(where: { $0 == anchor || $0.hasSuffix("." + anchor) }) else { continue }
            let prefix = String(key.dropLast(anchor.count))
            return try WeightNormFoldedStore(
                base: prefix.isEmpty ? store : PrefixStrippedWeightStore(base: store, prefix: prefix))
        }
        throw WeightsError.unrecognizedCheckpoint(
            file: store.sourceName,
            reason: "no Oobleck VAE in it: found no '\(anchors[0])' (diffusers' AutoencoderOobleck); its first "
                + "tensors are " + names.prefix(3).map { "'\($0)'" }.joined(separator: ", "))
    }
}
