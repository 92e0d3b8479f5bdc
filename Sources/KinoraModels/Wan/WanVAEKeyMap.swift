import KinoraFormats

/// The key layouts Wan VAE weights ship in, mapped once at load time to diffusers' `AutoencoderKLWan` names, which
/// the layers read.
///
/// - diffusers (`vae/` of a Wan folder): already these names; a file that nests them under a prefix is read
///   without it.
/// - The original Wan names (`wan/modules/vae.py`, `vae2_2.py`), which ComfyUI's `wan_2.1_vae.safetensors` and
///   `wan2.2_vae.safetensors` and Wan's `.pth` files use: `conv1` / `conv2` at the top are `quant_conv` /
///   `post_quant_conv`; `encoder.conv1` is `conv_in`; `X.middle.0|1|2` the mid block's resnet, attention, resnet;
///   `X.head.0` / `X.head.2` `norm_out` / `conv_out`; a residual block's `residual.0|2|3|6` and `shortcut` are
///   `norm1`, `conv1`, `norm2`, `conv2`, `conv_shortcut`. Wan 2.1 lists the encoder's blocks flat
///   (`encoder.downsamples.N`, the same N in diffusers) and the decoder's flat too (`decoder.upsamples.N`: per
///   level its residual blocks, then its `Resample`, which becomes `up_blocks.i.upsamplers.0`); Wan 2.2 nests them
///   (`encoder.downsamples.i.downsamples.j`, `decoder.upsamples.i.upsamples.j`, the last j of a level being its
///   `Resample`: `downsampler` / `upsampler`).
enum WanVAEKeyMap {
    static let diffusersAnchor = "decoder.mid_block.resnets.0.norm1.gamma"
    static let originalAnchor = "decoder.middle.0.residual.0.gamma"

    /// `store` under diffusers' names; throws `WeightsError.unrecognizedCheckpoint` for a file in neither layout,
    /// naming what was looked for.
    static func diffusersNames(_ store: any WeightStore) throws -> any WeightStore {
        let names = store.tensorNames
        if let key = names.first(where: { $0 == diffusersAnchor || $0.hasSuffix("." + diffusersAnchor) }) {
            let prefix = String(key.dropLast(diffusersAnchor.count))
            return prefix.isEmpty ? store : PrefixStrippedWeightStore(base: store, prefix: prefix)
        }
        if let key = names.first(where: { $0 == originalAnchor || $0.hasSuffix("." + originalAnchor) }) {
            let prefix = String(key.dropLast(originalAnchor.count))
            let keys = names.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            let map = OriginalLayout(keys: keys)
            let tensors = keys.compactMap { key -> MappedTensor? in
                map.diffusers(key).map { MappedTensor(component: .vae, name: $0, source: prefix + key) }
            }
            return ComponentWeightStore(base: store, component: .vae, tensors: tensors)
        }
        throw WeightsError.unrecognizedCheckpoint(
            file: store.sourceName,
            reason: "no Wan VAE in it: found neither '\(diffusersAnchor)' (diffusers) nor '\(originalAnchor)' (Wan, "
                + "ComfyUI); its first tensors are " + names.prefix(3).map { "'\($0)'" }.joined(separator: ", "))
    }

    /// The original layout of one file: whether its blocks are nested (Wan 2.2), and for Wan 2.1's flat decoder
    /// list, where each level's `Resample` sits.
    struct OriginalLayout {
        let nested: Bool
        /// Wan 2.1: the indices N of `decoder.upsamples.N` that are resamples, ascending.
        let decoderResamples: [Int]

        init(keys: [String]) {
            nested = keys.contains { $0.hasPrefix("decoder.upsamples.0.upsamples.") }
            decoderResamples = Set(
                keys.compactMap { key -> Int? in
                    let parts = key.split(separator: ".")
                    guard parts.count > 3, parts[0] == "decoder", parts[1] == "upsamples", let index = Int(parts[2]),
                        parts[3] == "resample" || parts[3] == "time_conv"
                    else { return nil }
                    return index
                }
            ).sorted()
        }

        /// The diffusers name of an original key, or nil for a key with no counterpart.
        func diffusers(_ key: String) -> String? {
            let parts = key.split(separator: ".").map(String.init)
            guard parts.count >= 2 else { return nil }
            switch parts[0] {
            case "conv1": return (["quant_conv"] + parts.dropFirst()).joined(separator: ".")
            case "conv2": return (["post_quant_conv"] + parts.dropFirst()).joined(separator: ".")
            case "encoder", "decoder": break
            default: return nil
            }
            let coder = parts[0]
            let rest = Array(parts.dropFirst())
            switch rest[0] {
            case "conv1":
                return ([coder, "conv_in"] + rest.dropFirst()).joined(separator: ".")
            case "head" where rest.count == 3:
                switch rest[1] {
                case "0": return "\(coder).norm_out.\(rest[2])"
                case "2": return "\(coder).conv_out.\(rest[2])"
                default: return nil
                }
            case "middle" where rest.count >= 3:
                let tail = Array(rest.dropFirst(2))
                switch rest[1] {
                case "0": return Self.residual(tail).map { "\(coder).mid_block.resnets.0.\($0)" }
                case "1": return "\(coder).mid_block.attentions.0.\(tail.joined(separator: "."))"
                case "2": return Self.residual(tail).map { "\(coder).mid_block.resnets.1.\($0)" }
                default: return nil
                }
            case "downsamples" where coder == "encoder" && rest.count >= 3:
                guard let index = Int(rest[1]) else { return nil }
                if nested {
                    guard rest.count >= 5, rest[2] == "downsamples", let inner = Int(rest[3]) else { return nil }
                    let tail = Array(rest.dropFirst(4))
                    if Self.isResample(tail) {
                        return "encoder.down_blocks.\(index).downsampler.\(tail.joined(separator: "."))"
                    }
                    return Self.residual(tail).map { "encoder.down_blocks.\(index).resnets.\(inner).\($0)" }
                }
                let tail = Array(rest.dropFirst(2))
                if Self.isResample(tail) { return "encoder.down_blocks.\(index).\(tail.joined(separator: "."))" }
                return Self.residual(tail).map { "encoder.down_blocks.\(index).\($0)" }
            case "upsamples" where coder == "decoder" && rest.count >= 3:
                guard let index = Int(rest[1]) else { return nil }
                if nested {
                    guard rest.count >= 5, rest[2] == "upsamples", let inner = Int(rest[3]) else { return nil }
                    let tail = Array(rest.dropFirst(4))
                    if Self.isResample(tail) {
                        return "decoder.up_blocks.\(index).upsampler.\(tail.joined(separator: "."))"
                    }
                    return Self.residual(tail).map { "decoder.up_blocks.\(index).resnets.\(inner).\($0)" }
                }
                let tail = Array(rest.dropFirst(2))
                let level = decoderResamples.filter { $0 < index }.count
                if Self.isResample(tail) {
                    return "decoder.up_blocks.\(level).upsamplers.0.\(tail.joined(separator: "."))"
                }
                let start = level == 0 ? 0 : decoderResamples[level - 1] + 1
                return Self.residual(tail).map { "decoder.up_blocks.\(level).resnets.\(index - start).\($0)" }
            default:
                return nil
            }
        }

        private static func isResample(_ tail: [String]) -> Bool {
            tail.first == "resample" || tail.first == "time_conv"
        }

        /// A residual block's parameter (`residual.2.weight`) under diffusers' name (`conv1.weight`).
        private static func residual(_ tail: [String]) -> String? {
            guard tail.count >= 2 else { return nil }
            let renames = ["residual.0": "norm1", "residual.2": "conv1", "residual.3": "norm2", "residual.6": "conv2"]
            if tail[0] == "shortcut" { return (["conv_shortcut"] + tail.dropFirst()).joined(separator: ".") }
            guard tail.count == 3, let name = renames["\(tail[0]).\(tail[1])"] else { return nil }
            return "\(name).\(tail[2])"
        }
    }
}
