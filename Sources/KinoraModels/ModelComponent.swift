/// The parts of a Stable Diffusion pipeline, named after their diffusers sub-folders. Kinora's internal weight
/// names are per component and follow diffusers (UNet, VAE) and transformers (text encoders).
public enum ModelComponent: String, Sendable, CaseIterable, Comparable {
    case unet
    case vae
    case textEncoder = "text_encoder"
    case textEncoder2 = "text_encoder_2"

    public static func < (lhs: ModelComponent, rhs: ModelComponent) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
