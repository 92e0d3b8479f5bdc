import Foundation
import KinoraModels

extension RenderPreparation {
    /// The types the components of `reference`'s `family` model at `url` will run their activations in, by role,
    /// resolved as the runner opens them: the reference's `precision:`, or for `auto` the weights' type, with a
    /// Stable Diffusion pipeline's own rules (SDXL's f16 VAE upcast to f32). Relative single-file options start at
    /// `workflowFolder`. A video model (planned by its own planner where a device is at hand) takes the reference's
    /// `precision:` for all three parts, as its pipeline runs them, except an autoregressive model's decoder, whose
    /// stream keeps its feature cache in the `kv_cache` type (f32 whatever the precision, if asked); for `auto` (UMT5
    /// and the DiT in their weights' type, the VAE in f32) they are left out. Empty for the families whose catalog
    /// figures hold one value for every type (voices; music, which a device plans on its own), and where the weights
    /// cannot be read: the runner reports that when it opens them, and until then the f32 figures, which cover every
    /// type, plan the stages.
    static func activationPrecisions(of reference: ModelReference, family: ModelFamily, url: URL,
                                     workflowFolder: URL) -> [ComponentRole: ActivationPrecision] {
        let requested = reference.precision.activationPrecision
        switch family.output {
        case .image:
            guard let components = try? ChainStageRunner.openComponents(url, reference,
                                                                         workflowFolder: workflowFolder) else {
                return [:]
            }
            let precision = StableDiffusionPrecision(requested, components: components)
            return [.textEncoder: precision.textEncoders, .denoiser: precision.unet, .decoder: precision.vae]
        case .upscaledImage:
            return (try? RealESRGAN.activationPrecision(paramURL: url, requested: requested))
                .map { [.upscaler: $0] } ?? [:]
        case .interpolatedFrames:
            return (try? RIFE.activationPrecision(url: url, requested: requested)).map { [.interpolator: $0] } ?? [:]
        case .video:
            guard let requested else { return [:] }
            var roles: [ComponentRole: ActivationPrecision] = [.textEncoder: requested, .denoiser: requested]
            if !family.autoregressive { roles[.decoder] = requested }
            return roles
        case .speech, .music:
            return [:]
        }
    }
}
