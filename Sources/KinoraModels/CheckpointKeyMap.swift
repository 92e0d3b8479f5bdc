import KinoraFormats
/// A checkpoint's tensors under Kinora's internal names, plus the checkpoint keys no rule claimed (EMA copies,
/// `alphas_cumprod`, `logit_scale`, ...), which a loader may log and otherwise ignores.
public struct WeightMap: Sendable, Equatable {
    public let tensors: [MappedTensor]
    public let unmapped: [String]

    /// The tensors of one component, keyed by internal name.
    public func tensors(of component: ModelComponent) -> [String: MappedTensor] {
        Dictionary(uniqueKeysWithValues: tensors.filter { $0.component == component }.map { ($0.name, $0) })
    }
}

/// Maps checkpoint key names to Kinora's internal naming (diffusers for UNet and VAE, transformers for text
/// encoders), one function per layout.
///
/// Covered: single-file SD1.x, SD2.x and SDXL base checkpoints (UNet, VAE, both text encoders, with OpenCLIP's fused
/// qkv split and `text_projection` transposed); standalone ldm VAE files; diffusers component folders (identity,
/// plus pre-0.14 VAE attention names). Not covered: SDXL refiner, inpainting-specific keys beyond the UNet's
/// `conv_in`, LoRA and ControlNet files.
public enum CheckpointKeyMap {
    /// Maps every key of an A1111/ComfyUI single-file checkpoint.
    public static func singleFile(_ keys: [String], file: String) throws -> WeightMap {
        var tensors: [MappedTensor] = []
        var unmapped: [String] = []
        var unetKeys: [String: String] = [:]
        var vaeKeys: [String: String] = [:]
        for key in keys.sorted() {
            if let rest = strip(key, "model.diffusion_model.") {
                unetKeys[rest] = key
            } else if let rest = strip(key, "first_stage_model.") {
                vaeKeys[rest] = key
            } else if let rest = strip(key, "cond_stage_model.transformer.") {
                tensors += TextEncoderKeyMap.clip(key: rest, source: key, component: .textEncoder)
            } else if let rest = strip(key, "conditioner.embedders.0.transformer.") {
                tensors += TextEncoderKeyMap.clip(key: rest, source: key, component: .textEncoder)
            } else if let rest = strip(key, "cond_stage_model.model."),
                let mapped = TextEncoderKeyMap.openCLIP(key: rest, source: key, component: .textEncoder)
            {
                tensors += mapped
            } else if let rest = strip(key, "conditioner.embedders.1.model."),
                let mapped = TextEncoderKeyMap.openCLIP(key: rest, source: key, component: .textEncoder2)
            {
                tensors += mapped
            } else {
                unmapped.append(key)
            }
        }
        if !unetKeys.isEmpty {
            let unet = try UNetKeyMap.ldm(keys: unetKeys.keys.sorted(), sources: unetKeys, file: file)
            tensors += unet.tensors
            unmapped += unet.unmapped
        }
        let vae = VAEKeyMap.ldm(keys: vaeKeys.keys.sorted(), sources: vaeKeys)
        tensors += vae.tensors
        unmapped += vae.unmapped
        return try checked(WeightMap(tensors: tensors, unmapped: unmapped.sorted()), file: file)
    }

    /// Maps a standalone VAE file in the ldm layout (`encoder.down.0.block.0...`, as in `vae-ft-mse-840000`).
    public static func ldmVAE(_ keys: [String], file: String) throws -> WeightMap {
        let vae = VAEKeyMap.ldm(keys: keys.sorted(), sources: [:])
        return try checked(WeightMap(tensors: vae.tensors, unmapped: vae.unmapped), file: file)
    }

    /// Maps the keys of one diffusers component folder; they already carry the internal names.
    public static func diffusers(_ keys: [String], component: ModelComponent, file: String) throws -> WeightMap {
        let tensors = keys.sorted().map { key in
            let (name, transform) = component == .vae ? VAEKeyMap.legacyDiffusers(key) : (key, .identity)
            return MappedTensor(component: component, name: name, source: key, transform: transform)
        }
        return try checked(WeightMap(tensors: tensors, unmapped: []), file: file)
    }

    private static func strip(_ key: String, _ prefix: String) -> String? {
        key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : nil
    }

    private static func checked(_ map: WeightMap, file: String) throws -> WeightMap {
        var seen: [String: String] = [:]
        for tensor in map.tensors {
            let key = "\(tensor.component.rawValue).\(tensor.name)"
            if let other = seen[key] {
                throw WeightsError.duplicateTensor(
                    file: file, tensor: "\(key) (from '\(other)' and '\(tensor.source)')")
            }
            seen[key] = tensor.source
        }
        return map
    }
}
