/// One key of a LoRA file, taken apart: which model part and module it adapts, in which layout, and whether it is the
/// down matrix, the up matrix or the alpha scalar.
public struct LoRAKey: Sendable, Equatable {
    /// The tensor's part of the low-rank pair.
    public enum Role: String, Sendable {
        case down, up, alpha
    }

    public let component: LoRAComponent
    /// The adapted module as the file names it: dotted (`down_blocks.0.attentions.0.proj_in`), or with every dot an
    /// underscore when `flattened` (kohya's `down_blocks_0_attentions_0_proj_in`). Processor-layout names are
    /// already renamed to the module's (`processor.to_out_lora` is `to_out.0`).
    public let module: String
    public let flattened: Bool
    public let layout: LoRALayout
    public let role: Role

    /// Parses `key`; throws `LoRAError` for adapters Kinora cannot merge and keys of no known layout.
    public init(_ key: String, file: String) throws {
        if let kind = Self.unsupportedKind(key) {
            throw LoRAError.unsupportedAdapter(file: file, key: key, kind: kind)
        }
        guard let (stem, role, style) = Self.split(key),
            let (component, layout, module, flattened) = Self.prefix(stem, style: style)
        else {
            throw LoRAError.unrecognizedKey(file: file, key: key)
        }
        self.component = component
        self.layout = layout
        self.flattened = flattened
        self.role = role
        self.module = style == .processor ? Self.processorModule(module, component: component) : module
        guard !self.module.isEmpty else { throw LoRAError.unrecognizedKey(file: file, key: key) }
    }

    private enum SuffixStyle {
        /// `.lora_down.weight`, `.lora_up.weight`, `.alpha` (kohya, ComfyUI).
        case downUp
        /// `.lora_A.weight`, `.lora_B.weight` (PEFT).
        case peft
        /// `.lora.down.weight`, `.lora_linear_layer.down.weight` (diffusers before PEFT).
        case linearLayer
        /// `to_q_lora.down.weight` (diffusers' attention processors).
        case processor
    }

    private static let suffixes: [(String, Role, SuffixStyle)] = [
        (".lora_down.weight", .down, .downUp), (".lora_up.weight", .up, .downUp), (".alpha", .alpha, .downUp),
        (".lora_A.weight", .down, .peft), (".lora_B.weight", .up, .peft),
        (".lora_linear_layer.down.weight", .down, .linearLayer), (".lora_linear_layer.up.weight", .up, .linearLayer),
        (".lora.down.weight", .down, .linearLayer), (".lora.up.weight", .up, .linearLayer),
        ("_lora.down.weight", .down, .processor), ("_lora.up.weight", .up, .processor),
    ]

    private static func split(_ key: String) -> (String, Role, SuffixStyle)? {
        for (suffix, role, style) in suffixes where key.hasSuffix(suffix) && key.count > suffix.count {
            return (String(key.dropLast(suffix.count)), role, style)
        }
        return nil
    }

    private static func prefix(_ stem: String, style: SuffixStyle)
        -> (LoRAComponent, LoRALayout, String, Bool)?
    {
        let kohya: [(String, LoRAComponent)] = [
            ("lora_unet_", .denoiser), ("lora_te1_", .textEncoder), ("lora_te2_", .textEncoder2),
            ("lora_te_", .textEncoder),
        ]
        for (prefix, component) in kohya where stem.hasPrefix(prefix) {
            return (component, .kohya, String(stem.dropFirst(prefix.count)), true)
        }
        let comfy: [(String, LoRAComponent)] = [
            ("diffusion_model.", .denoiser), ("text_encoders.clip_l.transformer.", .textEncoder),
            ("text_encoders.clip_g.transformer.", .textEncoder2),
        ]
        for (prefix, component) in comfy where stem.hasPrefix(prefix) {
            return (component, .comfyUI, String(stem.dropFirst(prefix.count)), false)
        }
        let layout: LoRALayout = style == .processor || style == .linearLayer ? .diffusersLegacy : .peft
        let diffusers: [(String, LoRAComponent)] = [
            ("unet.", .denoiser), ("transformer.", .denoiser), ("text_encoder.", .textEncoder),
            ("text_encoder_2.", .textEncoder2),
            // A PEFT-wrapped model's own state dict (`get_peft_model_state_dict`), as LongLive saves its generator's
            // adapter: the denoiser, in the names of the model that was wrapped.
            ("base_model.model.", .denoiser),
        ]
        for (prefix, component) in diffusers where stem.hasPrefix(prefix) {
            return (component, layout, String(stem.dropFirst(prefix.count)), false)
        }
        // The first diffusers releases saved UNet attention processors without a prefix.
        if style == .processor {
            return (.denoiser, .diffusersLegacy, stem, false)
        }
        return nil
    }

    /// `attn1.processor.to_q` → `attn1.to_q`, `to_out` → `to_out.0` (UNet); `self_attn.to_q` →
    /// `self_attn.q_proj`, `to_out` → `out_proj` (text encoders), as diffusers' own conversion does.
    private static func processorModule(_ module: String, component: LoRAComponent) -> String {
        var parts = module.split(separator: ".").map(String.init)
        guard let last = parts.popLast() else { return "" }
        if parts.last == "processor" { parts.removeLast() }
        let renamed: String
        switch (component, last) {
        case (.denoiser, "to_out"): renamed = "to_out.0"
        case (.denoiser, _): renamed = last
        case (_, "to_q"), (_, "to_k"), (_, "to_v"): renamed = "\(last.dropFirst(3))_proj"
        case (_, "to_out"): renamed = "out_proj"
        default: renamed = last
        }
        return (parts + [renamed]).joined(separator: ".")
    }

    private static func unsupportedKind(_ key: String) -> String? {
        let markers = [
            ("hada_", "LoHa"), ("lokr_", "LoKr"), (".dora_scale", "DoRA"), ("lora_magnitude_vector", "DoRA"),
            (".lora_mid.", "Tucker-decomposed LoCon (lora_mid)"), (".lora_A.bias", "bias-adapting LoRA"),
            (".lora_B.bias", "bias-adapting LoRA"), (".lora_up.bias", "bias-adapting LoRA"),
        ]
        if let kind = markers.first(where: { key.contains($0.0) })?.1 { return kind }
        return key.hasSuffix(".diff") || key.hasSuffix(".diff_b") ? "full-difference" : nil
    }
}
