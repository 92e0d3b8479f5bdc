import KinoraFormats

/// The key layouts Oobleck VAE weights ship in, mapped once at load time to the names `AutoencoderOobleck`'s layers
/// read: diffusers' names with each weight-normalised convolution as one plain `weight`.
///
/// - diffusers 0.42.1 (`stabilityai/stable-audio-open-1.0/vae`, `save_pretrained`) stores every convolution as
///   `X.weight_g` / `X.weight_v` (`torch.nn.utils.weight_norm`); a copy saved with the parametrization API has
///   `X.parametrizations.weight.original0` / `original1`, and one with the norm removed has `X.weight`.
/// - stable-audio-tools (`model.safetensors` of `stabilityai/stable-audio-open-1.0`, which ComfyUI loads as
///   `stable_audio_open_1.0.safetensors`, the VAE under `pretransform.model.`) names each layer by its place in
///   nested `layers` Sequentials (`OobleckEncoder`, `EncoderBlock`, `DecoderBlock`, `ResidualUnit`) and stores a
///   Snake's `alpha` and `beta` as [C] (read here as [1, C, 1], the same bytes).
///
/// The weight-norm pairs of either are folded by `WeightNormFoldedStore`; names nested under a prefix (`vae.`,
/// `pretransform.model.`) are read without it.
enum OobleckKeyMap {
    /// The first decoder block's transposed convolution, a layer only Oobleck has, in each diffusers layout.
    static let diffusersAnchors = ["weight_v", "parametrizations.weight.original1", "weight"].map {
        "decoder.block.0.conv_t1.\($0)"
    }
    /// The first decoder block's Snake in stable-audio-tools' names (what ComfyUI detects the audio VAE by).
    static let stableAudioToolsAnchor = "decoder.layers.1.layers.0.beta"

    /// `store` under the layers' names; throws `WeightsError.unrecognizedCheckpoint` for a file with no Oobleck
    /// decoder, naming what was looked for, and `WeightNormFoldedStore`'s errors for a broken weight-norm pair.
    static func layerNames(_ store: any WeightStore) throws -> any WeightStore {
        let names = store.tensorNames
        func prefix(of anchor: String) -> String? {
            names.first { $0 == anchor || $0.hasSuffix("." + anchor) }.map { String($0.dropLast(anchor.count)) }
        }
        for anchor in diffusersAnchors {
            guard let prefix = prefix(of: anchor) else { continue }
            return try WeightNormFoldedStore(
                base: prefix.isEmpty ? store : PrefixStrippedWeightStore(base: store, prefix: prefix))
        }
        if let prefix = prefix(of: stableAudioToolsAnchor) {
            return try WeightNormFoldedStore(base: StableAudioToolsLayout(base: store, prefix: prefix))
        }
        throw WeightsError.unrecognizedCheckpoint(
            file: store.sourceName,
            reason: "no Oobleck VAE in it: found neither '\(diffusersAnchors[0])' (diffusers' AutoencoderOobleck) nor "
                + "'\(stableAudioToolsAnchor)' (stable-audio-tools, ComfyUI); its first tensors are "
                + names.prefix(3).map { "'\($0)'" }.joined(separator: ", "))
    }

    /// A stable-audio-tools file's VAE tensors (those under `prefix`) under diffusers' names; its other tensors (a
    /// whole Stable Audio checkpoint's DiT and conditioners) are left out.
    struct StableAudioToolsLayout: WeightStore {
        let base: any WeightStore
        let tensorNames: [String]
        /// diffusers name → the file's name.
        private let sources: [String: String]

        init(base: any WeightStore, prefix: String) {
            self.base = base
            var sources: [String: String] = [:]
            for name in base.tensorNames where name.hasPrefix(prefix) {
                if let mapped = Self.diffusersName(String(name.dropFirst(prefix.count))) { sources[mapped] = name }
            }
            self.sources = sources
            tensorNames = sources.keys.sorted()
        }

        var sourceName: String { base.sourceName }

        func info(_ name: String) throws -> WeightTensorInfo {
            guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
            let info = try base.info(source)
            let snake = name.hasSuffix(".alpha") || name.hasSuffix(".beta")
            return WeightTensorInfo(
                name: name, dtype: info.dtype,
                shape: snake && info.shape.count == 1 ? [1, info.shape[0], 1] : info.shape,
                dataRange: info.dataRange, scale: info.scale)
        }

        func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
            guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
            return try base.withBytes(of: source, body)
        }

        /// The diffusers name of a stable-audio-tools name (`decoder.layers.2.layers.3.layers.1.weight_g` is
        /// `decoder.block.1.res_unit2.conv1.weight_g`), or nil for one with no counterpart.
        static func diffusersName(_ name: String) -> String? {
            let parts = name.split(separator: ".").map(String.init)
            guard parts.count >= 4, parts[0] == "encoder" || parts[0] == "decoder", parts[1] == "layers",
                let index = Int(parts[2])
            else { return nil }
            let coder = parts[0]
            let encoding = coder == "encoder"
            let rest = Array(parts.dropFirst(3))
            if rest.count == 1 {
                // A top-level layer: the first convolution, or the closing Snake and convolution.
                if index == 0 { return "\(coder).conv1.\(rest[0])" }
                return ["alpha", "beta"].contains(rest[0]) ? "\(coder).snake1.\(rest[0])" : "\(coder).conv2.\(rest[0])"
            }
            guard index >= 1, rest[0] == "layers", let layer = Int(rest[1]) else { return nil }
            let block = "\(coder).block.\(index - 1)"
            let tail = Array(rest.dropFirst(2))
            // EncoderBlock: 3 residual units, Snake, convolution; DecoderBlock: Snake, transposed convolution, 3 units.
            let firstUnit = encoding ? 0 : 2
            if (firstUnit..<(firstUnit + 3)).contains(layer) {
                let units = ["snake1", "conv1", "snake2", "conv2"]
                guard tail.count == 3, tail[0] == "layers", let part = Int(tail[1]), units.indices.contains(part) else {
                    return nil
                }
                return "\(block).res_unit\(layer - firstUnit + 1).\(units[part]).\(tail[2])"
            }
            guard tail.count == 1 else { return nil }
            switch (encoding, layer) {
            case (true, 3), (false, 0): return "\(block).snake1.\(tail[0])"
            case (true, 4): return "\(block).conv1.\(tail[0])"
            case (false, 1): return "\(block).conv_t1.\(tail[0])"
            default: return nil
            }
        }
    }
}
