/// Key rules from the original latent-diffusion (ldm) VAE layout to diffusers' `AutoencoderKL` names, as in
/// diffusers' `convert_ldm_vae_checkpoint`:
///
/// - `{encoder,decoder}.norm_out` → `conv_norm_out`; `conv_in`, `conv_out`, `quant_conv`, `post_quant_conv` keep
///   their names;
/// - `encoder.down.N.block.M` → `encoder.down_blocks.N.resnets.M`, `encoder.down.N.downsample.conv` →
///   `encoder.down_blocks.N.downsamplers.0.conv`;
/// - `decoder.up.N.block.M` → `decoder.up_blocks.(L−1−N).resnets.M` (ldm counts up-levels from the lowest
///   resolution, diffusers in execution order; L is the number of levels), `decoder.up.N.upsample.conv` →
///   `decoder.up_blocks.(L−1−N).upsamplers.0.conv`;
/// - resnet `nin_shortcut` → `conv_shortcut`; `mid.block_1`/`block_2` → `mid_block.resnets.0`/`1`;
/// - `mid.attn_1.{norm,q,k,v,proj_out}` → `mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0}`, the 1×1
///   convolution weights read as linear weights.
///
/// Diffusers folders written before diffusers 0.14 name the attention `query/key/value/proj_attn`; `legacyDiffusers`
/// renames those.
enum VAEKeyMap {
    /// Maps ldm VAE keys (without any `first_stage_model.` prefix; `sources` gives the full checkpoint keys).
    /// Returns the mapped tensors and the keys that matched no rule.
    static func ldm(keys: [String], sources: [String: String]) -> (tensors: [MappedTensor], unmapped: [String]) {
        let levels =
            keys.compactMap { key -> Int? in
                guard key.hasPrefix("decoder.up.") else { return nil }
                return Int(key.dropFirst("decoder.up.".count).prefix { $0 != "." })
            }.max().map { $0 + 1 } ?? 0
        var tensors: [MappedTensor] = []
        var unmapped: [String] = []
        for key in keys {
            let source = sources[key] ?? key
            if let (name, transform) = ldmName(key, upLevels: levels) {
                tensors.append(MappedTensor(component: .vae, name: name, source: source, transform: transform))
            } else {
                unmapped.append(source)
            }
        }
        return (tensors, unmapped)
    }

    /// Diffusers VAE keys, with pre-0.14 attention names brought up to date.
    static func legacyDiffusers(_ key: String) -> (String, TensorTransform) {
        let renames = [
            (".attentions.0.query.", ".attentions.0.to_q."), (".attentions.0.key.", ".attentions.0.to_k."),
            (".attentions.0.value.", ".attentions.0.to_v."), (".attentions.0.proj_attn.", ".attentions.0.to_out.0."),
        ]
        for (old, new) in renames where key.contains(old) {
            return (key.replacingOccurrences(of: old, with: new), .identity)
        }
        return (key, .identity)
    }

    private static func ldmName(_ key: String, upLevels: Int) -> (String, TensorTransform)? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        let head = parts[0]
        if head == "quant_conv" || head == "post_quant_conv" {
            return (key, .identity)
        }
        guard head == "encoder" || head == "decoder" else { return nil }
        let part = parts[1]
        let tail = parts.dropFirst(2)
        switch part {
        case "conv_in", "conv_out":
            return (key, .identity)
        case "norm_out":
            return (([head, "conv_norm_out"] + tail).joined(separator: "."), .identity)
        case "mid":
            return midName(head: head, tail: Array(tail))
        case "down", "up":
            guard tail.count >= 3, let level = Int(tail[tail.startIndex]) else { return nil }
            let rest = Array(tail.dropFirst())
            let block = part == "down" ? "down_blocks.\(level)" : "up_blocks.\(upLevels - 1 - level)"
            return levelName(head: head, block: block, rest: rest)
        default:
            return nil
        }
    }

    private static func levelName(head: String, block: String, rest: [String]) -> (String, TensorTransform)? {
        switch rest[0] {
        case "block":
            guard rest.count >= 3, Int(rest[1]) != nil, let inner = resnetName(Array(rest.dropFirst(2))) else {
                return nil
            }
            return ("\(head).\(block).resnets.\(rest[1]).\(inner)", .identity)
        case "downsample", "upsample":
            guard rest.count == 3, rest[1] == "conv" else { return nil }
            let sampler = rest[0] == "downsample" ? "downsamplers" : "upsamplers"
            return ("\(head).\(block).\(sampler).0.conv.\(rest[2])", .identity)
        default:
            return nil
        }
    }

    private static func midName(head: String, tail: [String]) -> (String, TensorTransform)? {
        guard tail.count >= 3 else { return nil }
        let rest = Array(tail.dropFirst())
        switch tail[0] {
        case "block_1", "block_2":
            guard let inner = resnetName(rest) else { return nil }
            return ("\(head).mid_block.resnets.\(tail[0] == "block_1" ? 0 : 1).\(inner)", .identity)
        case "attn_1":
            let names = ["norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]
            guard rest.count == 2, let layer = names[rest[0]] else { return nil }
            let transform: TensorTransform = rest[0] != "norm" && rest[1] == "weight" ? .squeezeToLinear : .identity
            return ("\(head).mid_block.attentions.0.\(layer).\(rest[1])", transform)
        default:
            return nil
        }
    }

    private static func resnetName(_ rest: [String]) -> String? {
        let layers = ["norm1", "conv1", "norm2", "conv2", "nin_shortcut"]
        guard rest.count == 2, layers.contains(rest[0]) else { return nil }
        return (rest[0] == "nin_shortcut" ? "conv_shortcut" : rest[0]) + "." + rest[1]
    }
}
