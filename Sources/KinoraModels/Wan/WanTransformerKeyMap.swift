import KinoraFormats

/// The key layouts Wan DiT weights ship in, mapped once at load time to diffusers' `WanTransformer3DModel` names
/// (`patch_embedding`, `condition_embedder.time_embedder.linear_1`, `blocks.N.attn1.to_q`, `blocks.N.ffn.net.0.proj`,
/// `scale_shift_table`, `proj_out`, …), which the layers read.
///
/// - diffusers (`transformer/` of a Wan folder) already uses these names.
/// - Wan's original layout (`wan/modules/model.py`), which ComfyUI's repackaged single files
///   (`wan2.1_t2v_1.3B_fp16.safetensors`, `wan2.2_ti2v_5B_fp16.safetensors`) keep, often under
///   `model.diffusion_model.`, and so do the autoregressive models' PyTorch checkpoints (Self-Forcing's, CausVid's,
///   LongLive's `{"generator": …, "generator_ema": …}` of `model.`-prefixed weights; the EMA weights are taken when
///   both are there, as their inference scripts do with `use_ema`): `time_embedding.0/2`, `time_projection.1`,
///   `text_embedding.0/2`, `head.head`, `head.modulation`, and per block `self_attn.{q,k,v,o,norm_q,norm_k}`, `cross_attn.…`, `modulation`,
///   `ffn.0/2`, and `norm3` for the cross-attention's affine norm (the original calls its norms in the order
///   norm1, norm3, norm2; diffusers renames norm3 to norm2). These are the renames of diffusers'
///   `convert_wan_transformer_to_diffusers` (`loaders/single_file_utils.py`), applied per name rather than by
///   substring.
enum WanTransformerKeyMap {
    /// `store` under diffusers' names. Throws `WeightsError.unrecognizedCheckpoint` for a file in neither layout
    /// (naming what was looked for) or one holding tensors the Wan DiT has no place for (naming them).
    static func diffusersNames(_ store: any WeightStore) throws -> any WeightStore {
        let names = store.tensorNames
        func prefix(before marker: String) -> String? {
            let prefixes = names.filter { $0 == marker || $0.hasSuffix("." + marker) }.map {
                String($0.dropLast(marker.count))
            }
            return prefixes.first { $0.hasPrefix("generator_ema.") } ?? prefixes.first { $0.hasPrefix("generator.") }
                ?? prefixes.first
        }
        if let prefix = prefix(before: "condition_embedder.time_proj.weight") {
            return prefix.isEmpty ? store : PrefixStrippedWeightStore(base: store, prefix: prefix)
        }
        if let prefix = prefix(before: "time_projection.1.weight") {
            var mapped: [String: String] = [:]
            var unknown: [String] = []
            for name in names where name.hasPrefix(prefix) {
                if let diffusers = Self.diffusers(original: String(name.dropFirst(prefix.count))) {
                    mapped[diffusers] = name
                } else {
                    unknown.append(name)
                }
            }
            guard unknown.isEmpty else {
                throw WeightsError.unrecognizedCheckpoint(
                    file: store.sourceName,
                    reason: "tensors with no place in a Wan text-to-video transformer: "
                        + unknown.prefix(3).map { "'\($0)'" }.joined(separator: ", ")
                        + (unknown.count > 3 ? " and \(unknown.count - 3) more" : "")
                        + " (VACE, Animate and other Wan variants are not supported)")
            }
            return WanTransformerRenamedStore(base: store, sources: mapped)
        }
        throw WeightsError.unrecognizedCheckpoint(
            file: store.sourceName,
            reason: "no Wan transformer in it: found neither 'condition_embedder.time_proj.weight' (diffusers) nor "
                + "'time_projection.1.weight' (Wan's original layout, ComfyUI's files); its first tensors are "
                + names.prefix(3).map { "'\($0)'" }.joined(separator: ", "))
    }

    /// The diffusers name of a key in Wan's original layout (without any prefix), or nil for keys with no
    /// counterpart. Wan 2.1 I2V's image branch maps to diffusers' names too, so that the configuration can refuse it
    /// by name.
    static func diffusers(original key: String) -> String? {
        let (module, leaf) = split(key)
        let topLevel = [
            "patch_embedding": "patch_embedding",
            "time_embedding.0": "condition_embedder.time_embedder.linear_1",
            "time_embedding.2": "condition_embedder.time_embedder.linear_2",
            "time_projection.1": "condition_embedder.time_proj",
            "text_embedding.0": "condition_embedder.text_embedder.linear_1",
            "text_embedding.2": "condition_embedder.text_embedder.linear_2",
            "head.head": "proj_out",
            "img_emb.proj.0": "condition_embedder.image_embedder.norm1",
            "img_emb.proj.1": "condition_embedder.image_embedder.ff.net.0.proj",
            "img_emb.proj.3": "condition_embedder.image_embedder.ff.net.2",
            "img_emb.proj.4": "condition_embedder.image_embedder.norm2",
        ]
        if key == "head.modulation" { return "scale_shift_table" }
        if let module, let renamed = topLevel[module] { return "\(renamed).\(leaf)" }
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blocks", let layer = Int(parts[1]) else { return nil }
        let block = "blocks.\(layer)"
        if parts[2] == "modulation" { return "\(block).scale_shift_table" }
        let (inner, innerLeaf) = split(parts[2])
        let attention = [
            "q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0", "norm_q": "norm_q", "norm_k": "norm_k",
            "k_img": "add_k_proj", "v_img": "add_v_proj", "norm_k_img": "norm_added_k",
        ]
        let renames = [
            "norm3": "norm2", "ffn.0": "ffn.net.0.proj", "ffn.2": "ffn.net.2",
        ]
        guard let inner else { return nil }
        if let renamed = renames[inner] { return "\(block).\(renamed).\(innerLeaf)" }
        let attentionParts = inner.split(separator: ".", maxSplits: 1).map(String.init)
        guard attentionParts.count == 2, let layer = attention[attentionParts[1]] else { return nil }
        switch attentionParts[0] {
        case "self_attn": return "\(block).attn1.\(layer).\(innerLeaf)"
        case "cross_attn": return "\(block).attn2.\(layer).\(innerLeaf)"
        default: return nil
        }
    }

    /// A parameter name cut into its module and its last component (`weight`, `bias`).
    private static func split(_ key: String) -> (module: String?, leaf: String) {
        guard let dot = key.lastIndex(of: ".") else { return (nil, key) }
        return (String(key[..<dot]), String(key[key.index(after: dot)...]))
    }
}

/// A view of a store under other names: each name reads the tensor `sources[name]` of `base`.
struct WanTransformerRenamedStore: WeightStore {
    let base: any WeightStore
    /// Base key of each name.
    let sources: [String: String]
    let tensorNames: [String]

    init(base: any WeightStore, sources: [String: String]) {
        self.base = base
        self.sources = sources
        tensorNames = sources.keys.sorted()
    }

    var sourceName: String { base.sourceName }

    func info(_ name: String) throws -> WeightTensorInfo {
        guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
        let info = try base.info(source)
        return WeightTensorInfo(
            name: name, dtype: info.dtype, shape: info.shape, dataRange: info.dataRange, scale: info.scale)
    }

    func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
        return try base.withBytes(of: source, body)
    }
}
