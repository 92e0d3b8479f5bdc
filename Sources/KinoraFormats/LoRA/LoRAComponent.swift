/// The part of a model a LoRA key adapts, as the key's prefix says.
public enum LoRAComponent: String, Sendable, CaseIterable, Comparable {
    /// The denoiser: a UNet (Stable Diffusion) or a diffusion transformer (Wan).
    case denoiser
    /// The first (or only) text encoder.
    case textEncoder = "text_encoder"
    /// SDXL's second text encoder.
    case textEncoder2 = "text_encoder_2"

    public static func < (lhs: LoRAComponent, rhs: LoRAComponent) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
