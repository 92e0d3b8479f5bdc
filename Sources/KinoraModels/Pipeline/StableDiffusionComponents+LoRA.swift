import KinoraFormats

extension StableDiffusionComponents {
    /// These components with `adapters` merged into the UNet's and text encoders' weights as they upload (kohya,
    /// diffusers/PEFT, diffusers processor and ComfyUI layouts; several adapters add up). Throws `LoRAError` when a
    /// file is no LoRA Kinora can merge or any of its keys adapts no weight of this model.
    public func applying(_ adapters: [LoRAAdapter]) throws -> StableDiffusionComponents {
        let files = try adapters.map { (file: try LoRAFile(url: $0.url), strength: $0.strength) }
        let model = "this \(family.rawValue) model"
        var result = self
        let layersPerBlock: Int
        switch unetConfiguration.layersPerBlock {
        case .all(let count): layersPerBlock = count
        case .each(let counts): layersPerBlock = counts.first ?? 2
        }
        result.unetPatches = try LoRAPatch.resolve(files, component: .denoiser, store: unetStore, model: model) {
            Self.diffusersModule(ldm: $0, flattened: $1, layersPerBlock: layersPerBlock)
        }
        result.textEncoder.patches = try Self.textEncoderPatches(files, .textEncoder, textEncoder, model: model)
        let second = try Self.textEncoderPatches(files, .textEncoder2, textEncoder2, model: model)
        result.textEncoder2?.patches = second
        return result
    }

    /// Text-encoder LoRAs name modules `text_model.encoder…`; transformers 5 files have no `text_model.` level.
    private static func textEncoderPatches(_ files: [(file: LoRAFile, strength: Float)], _ component: LoRAComponent,
                                           _ encoder: TextEncoder?, model: String) throws -> [String: [LoRAPatch]] {
        let nested = encoder?.store.tensorNames.contains { $0.hasPrefix("text_model.") } ?? false
        return try LoRAPatch.resolve(files, component: component, store: encoder?.store, model: model) { module, _ in
            guard !nested else { return nil }
            let prefix = "text_model."
            return module.hasPrefix(prefix) || module.hasPrefix("text_model_") ? String(module.dropFirst(prefix.count))
                : nil
        }
    }

    /// The diffusers name of a UNet module given by its ldm name (ComfyUI's `input_blocks.1.1.proj_in`, kohya's SDXL
    /// `input_blocks_1_1_proj_in`), or nil for other names. Flattened names are dotted up to the inner module, whose
    /// flattened remainder the resolver matches.
    static func diffusersModule(ldm module: String, flattened: Bool, layersPerBlock: Int) -> String? {
        var dotted = module
        if flattened {
            var parts = module.split(separator: "_").map(String.init)
            let head: Int
            switch (parts.first, parts.dropFirst().first) {
            case ("input", "blocks"), ("output", "blocks"): head = 4
            case ("middle", "block"): head = 3
            default: return nil
            }
            guard parts.count > head else { return nil }
            parts[0] += "_" + parts.remove(at: 1)
            let prefix = parts.prefix(head - 1).joined(separator: ".")
            var rest = parts.dropFirst(head - 1).joined(separator: "_")
            for layer in ["in_layers", "out_layers", "emb_layers"] where rest.hasPrefix(layer + "_") {
                rest = layer + "." + rest.dropFirst(layer.count + 1)
            }
            dotted = prefix + "." + rest
        }
        return UNetKeyMap.name(for: dotted + ".weight", layersPerBlock: layersPerBlock).map {
            String($0.dropLast(".weight".count))
        }
    }
}
