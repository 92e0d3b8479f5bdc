import KinoraFormats

/// The activation precision each model of a Stable Diffusion generation runs in, as diffusers' pipelines run them
/// for a `torch_dtype`: every model in the requested precision, by default its own weights' type
/// (`ActivationPrecision.resolve`). The one exception is diffusers' SDXL pipelines' VAE upcast: a VAE whose
/// configuration says `force_upcast` (SDXL's, whose activations overflow f16) runs f32 where it would run f16.
/// SD 1.x/2.x pipelines never upcast. The scheduler's arithmetic and the latents between steps are f32 on the host
/// whatever the precision.
public struct StableDiffusionPrecision: Sendable, Equatable {
    public var textEncoders: ActivationPrecision
    public var unet: ActivationPrecision
    public var vae: ActivationPrecision

    public init(textEncoders: ActivationPrecision, unet: ActivationPrecision, vae: ActivationPrecision) {
        self.textEncoders = textEncoders
        self.unet = unet
        self.vae = vae
    }

    /// The precisions for `components` when `requested` (nil: each model its weights' type).
    public init(_ requested: ActivationPrecision?, components: StableDiffusionComponents) {
        let resolve = { (store: any WeightStore) in
            ActivationPrecision.resolve(requested, weights: store.storageType())
        }
        textEncoders = resolve(components.textEncoder.store)
        unet = resolve(components.unetStore)
        vae = Self.vae(resolve(components.vaeStore), configuration: components.vaeConfiguration,
                       family: components.family)
    }

    /// `precision` for the VAE of a `family` pipeline: f32 instead of f16 when SDXL's pipeline would upcast it
    /// (`needs_upcasting = vae.dtype == float16 and vae.config.force_upcast`).
    public static func vae(_ precision: ActivationPrecision, configuration: AutoencoderKLConfiguration,
                           family: ModelFamily) -> ActivationPrecision {
        family == .sdxl && configuration.forceUpcast && precision == .fp16 ? .fp32 : precision
    }
}
