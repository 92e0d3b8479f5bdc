import KinoraFormats

extension WanTransformer3DModel {
    /// Each weight's LoRA patches for `adapters` over the transformer's weights `store` (diffusers' names, as the key
    /// map gives them): ComfyUI's `diffusion_model.` keys and kohya's (musubi-tuner's) `lora_unet_` keys in Wan's
    /// original module names (`blocks.0.self_attn.q`, `blocks_0_self_attn_q`), PEFT's `transformer.` keys in
    /// diffusers' (`blocks.0.attn1.to_q`). Throws `LoRAError` when a key adapts no weight of this transformer.
    static func loraPatches(_ adapters: [LoRAAdapter], store: any WeightStore, layers: Int) throws
        -> [String: [LoRAPatch]]
    {
        guard !adapters.isEmpty else { return [:] }
        let files = try adapters.map { (file: try LoRAFile(url: $0.url), strength: $0.strength) }
        let flattened = originalModules(layers: layers).reduce(into: [String: String]()) { names, original in
            if let module = diffusersModule(original: original) {
                names[LoRAModuleResolver.flatten(original)] = LoRAModuleResolver.flatten(module)
            }
        }
        return try LoRAPatch.resolve(files, component: .denoiser, store: store, model: "this Wan transformer") {
            module, isFlattened in isFlattened ? flattened[module] : diffusersModule(original: module)
        }
    }

    /// The diffusers module of a module in Wan's original names (`blocks.0.self_attn.q` → `blocks.0.attn1.to_q`).
    static func diffusersModule(original module: String) -> String? {
        WanTransformerKeyMap.diffusers(original: module + ".weight").map { String($0.dropLast(".weight".count)) }
    }

    /// Every weight-bearing module of a Wan transformer of `layers` blocks, in Wan's original names.
    static func originalModules(layers: Int) -> [String] {
        let topLevel = [
            "patch_embedding", "time_embedding.0", "time_embedding.2", "time_projection.1", "text_embedding.0",
            "text_embedding.2", "head.head",
        ]
        let perBlock = ["q", "k", "v", "o", "norm_q", "norm_k"].flatMap { ["self_attn.\($0)", "cross_attn.\($0)"] }
            + ["norm3", "ffn.0", "ffn.2"]
        return topLevel + (0..<layers).flatMap { layer in perBlock.map { "blocks.\(layer).\($0)" } }
    }
}
