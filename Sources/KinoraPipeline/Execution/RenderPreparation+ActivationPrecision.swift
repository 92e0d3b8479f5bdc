import Foundation
import KinoraModels

extension RenderPreparation {
    /// The type `role`'s activations of `reference`'s `family` model at `url` will run in, resolved as the runner
    /// opens it: the reference's `precision:`, or for `auto` the weights' type, with a Stable Diffusion pipeline's
    /// own rules (SDXL's f16 VAE upcast to f32). Relative single-file options start at `workflowFolder`. Nil for
    /// the families whose catalog figures hold one value for every type (voices, music, video, planned on their
    /// own), and where the weights cannot be read: the runner reports that when it opens them, and until then the
    /// f32 figures, which cover every type, plan the stage.
    static func activationPrecision(of reference: ModelReference, family: ModelFamily, role: ComponentRole,
                                    url: URL, workflowFolder: URL) -> ActivationPrecision? {
        let requested = reference.precision.activationPrecision
        switch (family.output, role) {
        case (.image, .textEncoder), (.image, .denoiser), (.image, .decoder):
            guard let components = try? ChainStageRunner.openComponents(url, reference,
                                                                         workflowFolder: workflowFolder) else {
                return nil
            }
            let precision = StableDiffusionPrecision(requested, components: components)
            return role == .textEncoder ? precision.textEncoders : role == .denoiser ? precision.unet : precision.vae
        case (_, .upscaler):
            return try? RealESRGAN.activationPrecision(paramURL: url, requested: requested)
        case (_, .interpolator):
            return try? RIFE.activationPrecision(url: url, requested: requested)
        default:
            return nil
        }
    }
}
