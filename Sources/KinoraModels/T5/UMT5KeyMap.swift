import KinoraFormats

/// The key layouts UMT5 encoder weights ship in, mapped once at load time to transformers' `UMT5EncoderModel` names
/// (`shared.weight`, `encoder.block.N.layer.0.SelfAttention.q.weight`, …, `encoder.final_layer_norm.weight`),
/// which the layers read.
///
/// - transformers / diffusers (`text_encoder/` of a Wan folder) and ComfyUI's `umt5_xxl_fp16.safetensors` /
///   `umt5_xxl_fp8_e4m3fn_scaled.safetensors` already use these names; a file that nests them under a prefix
///   (`text_encoders.umt5xxl.transformer.`) is read without it. ComfyUI's extra keys (`spiece_model`,
///   `scaled_fp8`) are ignored.
/// - Wan's original `models_t5_umt5-xxl-enc-bf16.pth` (`wan/modules/t5.py`): `token_embedding`, `blocks.N.norm1`,
///   `blocks.N.attn.{q,k,v,o}`, `blocks.N.pos_embedding.embedding`, `blocks.N.norm2`, `blocks.N.ffn.gate.0`
///   (the GELU branch, `wi_0`), `blocks.N.ffn.fc1` (`wi_1`), `blocks.N.ffn.fc2` (`wo`), `norm`.
enum UMT5KeyMap {
    static let finalNorm = "encoder.final_layer_norm.weight"

    /// `store` under transformers' names; throws `WeightsError.unrecognizedCheckpoint` for a file in neither
    /// layout, naming what was looked for.
    static func transformersNames(_ store: any WeightStore) throws -> any WeightStore {
        let names = store.tensorNames
        if let key = names.first(where: { $0 == finalNorm || $0.hasSuffix("." + finalNorm) }) {
            let prefix = String(key.dropLast(finalNorm.count))
            return prefix.isEmpty ? store : PrefixStrippedWeightStore(base: store, prefix: prefix)
        }
        if let key = names.first(where: { $0 == "blocks.0.attn.q.weight" || $0.hasSuffix(".blocks.0.attn.q.weight") }) {
            let prefix = String(key.dropLast("blocks.0.attn.q.weight".count))
            let tensors = names.compactMap { name -> MappedTensor? in
                guard name.hasPrefix(prefix), let mapped = wan(String(name.dropFirst(prefix.count))) else {
                    return nil
                }
                return MappedTensor(component: .textEncoder, name: mapped, source: name)
            }
            return ComponentWeightStore(base: store, component: .textEncoder, tensors: tensors)
        }
        throw WeightsError.unrecognizedCheckpoint(
            file: store.sourceName,
            reason: "no UMT5 encoder in it: found neither '\(finalNorm)' (transformers, diffusers, ComfyUI) nor "
                + "'blocks.0.attn.q.weight' (Wan's original T5); its first tensors are "
                + names.prefix(3).map { "'\($0)'" }.joined(separator: ", "))
    }

    /// The transformers name of a key in Wan's original layout, or nil for keys with no counterpart.
    static func wan(_ key: String) -> String? {
        switch key {
        case "token_embedding.weight": return "shared.weight"
        case "norm.weight": return finalNorm
        default: break
        }
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blocks", let layer = Int(parts[1]) else { return nil }
        let renames = [
            "norm1.weight": "layer.0.layer_norm.weight",
            "attn.q.weight": "layer.0.SelfAttention.q.weight",
            "attn.k.weight": "layer.0.SelfAttention.k.weight",
            "attn.v.weight": "layer.0.SelfAttention.v.weight",
            "attn.o.weight": "layer.0.SelfAttention.o.weight",
            "pos_embedding.embedding.weight": "layer.0.SelfAttention.relative_attention_bias.weight",
            "norm2.weight": "layer.1.layer_norm.weight",
            "ffn.gate.0.weight": "layer.1.DenseReluDense.wi_0.weight",
            "ffn.fc1.weight": "layer.1.DenseReluDense.wi_1.weight",
            "ffn.fc2.weight": "layer.1.DenseReluDense.wo.weight",
        ]
        return renames[parts[2]].map { "encoder.block.\(layer).\($0)" }
    }
}
