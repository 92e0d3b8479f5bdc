/// Key rules for the text encoders inside single-file checkpoints, to transformers' `CLIPTextModel` /
/// `CLIPTextModelWithProjection` names (what diffusers' `text_encoder/` folders hold).
enum TextEncoderKeyMap {
    /// OpenAI CLIP as saved by transformers (SD1 `cond_stage_model.transformer.`, SDXL
    /// `conditioner.embedders.0.transformer.`). Names are already transformers'; checkpoints written with old
    /// transformers versions lack the `text_model.` level, which is added.
    static func clip(key: String, source: String, component: ModelComponent) -> [MappedTensor] {
        let name = key.hasPrefix("text_model.") || key.hasPrefix("text_projection") ? key : "text_model." + key
        return [MappedTensor(component: component, name: name, source: source)]
    }

    /// OpenCLIP (SD2 `cond_stage_model.model.`, SDXL `conditioner.embedders.1.model.`). The fused attention input
    /// projection `in_proj_weight`/`in_proj_bias` `[3·d, …]` becomes `q_proj`, `k_proj`, `v_proj` (slices 0, 1, 2 along
    /// axis 0), and `text_projection` `[d, p]` becomes the linear weight `text_projection.weight` `[p, d]`
    /// (transposed). Returns nil for keys with no counterpart (`logit_scale`, `attn_mask`).
    static func openCLIP(key: String, source: String, component: ModelComponent) -> [MappedTensor]? {
        func mapped(_ name: String, _ transform: TensorTransform = .identity) -> MappedTensor {
            MappedTensor(component: component, name: name, source: source, transform: transform)
        }
        switch key {
        case "token_embedding.weight":
            return [mapped("text_model.embeddings.token_embedding.weight")]
        case "positional_embedding":
            return [mapped("text_model.embeddings.position_embedding.weight")]
        case "ln_final.weight", "ln_final.bias":
            return [mapped("text_model.final_layer_norm." + key.dropFirst("ln_final.".count))]
        case "text_projection":
            return [mapped("text_projection.weight", .transpose)]
        default:
            break
        }
        let prefix = "transformer.resblocks."
        guard key.hasPrefix(prefix), let dot = key.dropFirst(prefix.count).firstIndex(of: ".") else {
            return nil
        }
        let layer = key[key.index(key.startIndex, offsetBy: prefix.count)..<dot]
        let rest = String(key[key.index(after: dot)...])
        let target = "text_model.encoder.layers.\(layer)."
        for (fused, suffix) in [("attn.in_proj_weight", "weight"), ("attn.in_proj_bias", "bias")] where rest == fused {
            return ["q_proj", "k_proj", "v_proj"].enumerated().map { part, projection in
                mapped(target + "self_attn.\(projection).\(suffix)", .slice(part: part, count: 3))
            }
        }
        let renames = [
            ("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("attn.out_proj.", "self_attn.out_proj."),
            ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2."),
        ]
        for (old, new) in renames where rest.hasPrefix(old) {
            return [mapped(target + new + rest.dropFirst(old.count))]
        }
        return nil
    }
}
