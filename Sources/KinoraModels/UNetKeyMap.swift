import KinoraFormats
/// Key rules from the original latent-diffusion (ldm) `UNetModel` layout to diffusers' `UNet2DConditionModel` names,
/// as in diffusers' `convert_ldm_unet_checkpoint`, for SD1.x, SD2.x and SDXL base:
///
/// - `time_embed.0/2` → `time_embedding.linear_1/2`; `label_emb.0.0/0.2` → `add_embedding.linear_1/2` (SDXL);
///   `input_blocks.0.0` → `conv_in`; `out.0/2` → `conv_norm_out`/`conv_out`;
/// - `input_blocks.i` (i ≥ 1) is layer `(i−1) mod (P+1)` of down block `(i−1) div (P+1)`, P being the layers per
///   block: sub-module `0` is a resnet, or the downsampler when it holds `op`; sub-module `1` is the attention;
/// - `middle_block.0/1/2` → `mid_block.resnets.0`, `mid_block.attentions.0`, `mid_block.resnets.1`;
/// - `output_blocks.i` is layer `i mod (P+1)` of up block `i div (P+1)`: sub-module `0` is a resnet, a sub-module
///   holding only `conv` is the upsampler, any other is the attention;
/// - inside resnets `in_layers.0/2` → `norm1`/`conv1`, `emb_layers.1` → `time_emb_proj`, `out_layers.0/3` →
///   `norm2`/`conv2`, `skip_connection` → `conv_shortcut`; attention (transformer) blocks keep their inner names.
///
/// P is read from the keys (the first `input_blocks.i.0.op` is at i = P + 1), so no per-family table is needed.
enum UNetKeyMap {
    /// Maps ldm UNet keys (without the `model.diffusion_model.` prefix; `sources` gives the full checkpoint keys).
    static func ldm(keys: [String], sources: [String: String], file: String) throws
        -> (tensors: [MappedTensor], unmapped: [String])
    {
        let firstDownsampler = keys.compactMap { key -> Int? in
            let parts = key.split(separator: ".")
            guard parts.count >= 4, parts[0] == "input_blocks", parts[2] == "0", parts[3] == "op" else { return nil }
            return Int(parts[1])
        }.min()
        guard let firstDownsampler, firstDownsampler >= 2 else {
            throw WeightsError.unrecognizedCheckpoint(
                file: file, reason: "UNet has no input_blocks.N.0.op downsampler to derive its layers per block from")
        }
        let layersPerBlock = firstDownsampler - 1
        var tensors: [MappedTensor] = []
        var unmapped: [String] = []
        for key in keys {
            let source = sources[key] ?? key
            if let name = name(for: key, layersPerBlock: layersPerBlock) {
                tensors.append(MappedTensor(component: .unet, name: name, source: source))
            } else {
                unmapped.append(source)
            }
        }
        return (tensors, unmapped)
    }

    private static let topLevel = [
        "time_embed.0.": "time_embedding.linear_1.", "time_embed.2.": "time_embedding.linear_2.",
        "label_emb.0.0.": "add_embedding.linear_1.", "label_emb.0.2.": "add_embedding.linear_2.",
        "input_blocks.0.0.": "conv_in.", "out.0.": "conv_norm_out.", "out.2.": "conv_out.",
    ]

    private static let resnetLayers = [
        "in_layers.0.": "norm1.", "in_layers.2.": "conv1.", "emb_layers.1.": "time_emb_proj.",
        "out_layers.0.": "norm2.", "out_layers.3.": "conv2.", "skip_connection.": "conv_shortcut.",
    ]

    static func name(for key: String, layersPerBlock: Int) -> String? {
        for (old, new) in topLevel where key.hasPrefix(old) {
            return new + key.dropFirst(old.count)
        }
        if key.hasPrefix("middle_block.") {
            return middle(String(key.dropFirst("middle_block.".count)))
        }
        let parts = key.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, let index = Int(parts[1]), let module = Int(parts[2]) else { return nil }
        let rest = parts[3]
        let perBlock = layersPerBlock + 1
        switch parts[0] {
        case "input_blocks" where index >= 1:
            let (block, layer) = ((index - 1) / perBlock, (index - 1) % perBlock)
            if module == 0, rest.hasPrefix("op.") {
                return "down_blocks.\(block).downsamplers.0.conv." + rest.dropFirst(3)
            }
            if module == 0 {
                return resnet(rest).map { "down_blocks.\(block).resnets.\(layer)." + $0 }
            }
            return module == 1 ? "down_blocks.\(block).attentions.\(layer)." + rest : nil
        case "output_blocks":
            let (block, layer) = (index / perBlock, index % perBlock)
            if module == 0 {
                return resnet(rest).map { "up_blocks.\(block).resnets.\(layer)." + $0 }
            }
            if rest.hasPrefix("conv.") {
                return "up_blocks.\(block).upsamplers.0." + rest
            }
            return module == 1 ? "up_blocks.\(block).attentions.\(layer)." + rest : nil
        default:
            return nil
        }
    }

    private static func middle(_ key: String) -> String? {
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "0", "2": return resnet(parts[1]).map { "mid_block.resnets.\(parts[0] == "0" ? 0 : 1)." + $0 }
        case "1": return "mid_block.attentions.0." + parts[1]
        default: return nil
        }
    }

    private static func resnet(_ rest: String) -> String? {
        for (old, new) in resnetLayers where rest.hasPrefix(old) {
            return new + rest.dropFirst(old.count)
        }
        return nil
    }
}
