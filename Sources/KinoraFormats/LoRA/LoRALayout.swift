/// The key conventions LoRA files are written in. All of them store a low-rank pair per targeted weight, a "down"
/// matrix `[rank, in]` (or a convolution kernel `[rank, in, kh, kw]`) and an "up" matrix `[out, rank]`
/// (or `[out, rank, 1, 1]`), and differ in how they name the targeted module and the pair.
public enum LoRALayout: String, Sendable, CaseIterable, Comparable {
    /// kohya's sd-scripts (A1111, most trainers): `lora_unet_<module with dots as underscores>.lora_down.weight`,
    /// `.lora_up.weight` and a scalar `.alpha`; text encoders under `lora_te_`, or `lora_te1_` / `lora_te2_` for
    /// SDXL. SDXL UNet modules carry the original (ldm) names, `input_blocks_4_1_…`.
    case kohya
    /// diffusers / PEFT: `unet.<module>.lora_A.weight` (down) and `.lora_B.weight` (up); text encoders under
    /// `text_encoder.` and `text_encoder_2.`, DiT denoisers under `transformer.`.
    case peft
    /// diffusers' attention-processor layout from before PEFT: `unet.<block>.processor.to_q_lora.down.weight` and
    /// `.up.weight` (`to_out_lora` targets `to_out.0`), `text_encoder.<layer>.self_attn.to_q_lora.down.weight`
    /// (targets `q_proj`), and the intermediate `<module>.lora.down.weight` / `.lora_linear_layer.down.weight`.
    case diffusersLegacy = "diffusers-legacy"
    /// ComfyUI: `diffusion_model.<module>.lora_down.weight` / `.lora_up.weight` / `.alpha` (or `.lora_A` / `.lora_B`)
    /// with the checkpoint's own module names (ldm names for Stable Diffusion); text encoders under
    /// `text_encoders.clip_l.transformer.` and `text_encoders.clip_g.transformer.`.
    case comfyUI = "comfyui"

    public static func < (lhs: LoRALayout, rhs: LoRALayout) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
