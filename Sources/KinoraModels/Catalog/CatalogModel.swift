import Foundation
import KinoraGPU
import KinoraTensor

/// A full-size checkpoint architecture known without its files: the real `config.json` of every component and, from
/// `CatalogLayout`, every tensor's name and shape, so the models can be built over `RandomWeightStore`s to measure
/// memory and speed at full size.
public enum CatalogModel: String, CaseIterable, Sendable {
    /// runwayml/stable-diffusion-v1-5: CLIP ViT-L/14 text encoder, 860M-parameter UNet, 84M-parameter VAE.
    case sd15
    /// stabilityai/stable-diffusion-2-1: OpenCLIP ViT-H/14 text encoder (23 layers, as the pipeline runs it),
    /// 866M-parameter UNet with linear projections, 84M-parameter VAE.
    case sd2
    /// stabilityai/stable-diffusion-xl-base-1.0: CLIP ViT-L/14 and OpenCLIP ViT-bigG/14 (with projection) text
    /// encoders, 2.6B-parameter UNet, 84M-parameter VAE.
    case sdxl

    /// The checkpoint's name on the Hugging Face hub.
    public var checkpoint: String {
        switch self {
        case .sd15: return "runwayml/stable-diffusion-v1-5"
        case .sd2: return "stabilityai/stable-diffusion-2-1"
        case .sdxl: return "stabilityai/stable-diffusion-xl-base-1.0"
        }
    }

    /// The image edge the checkpoint was trained for.
    public var nativeSize: Int {
        switch self {
        case .sd15: return 512
        case .sd2: return 768
        case .sdxl: return 1024
        }
    }

    /// One text encoder of the checkpoint.
    public struct TextEncoder: Sendable {
        /// The diffusers folder: `text_encoder` or `text_encoder_2`.
        public let folder: String
        public let configuration: CLIPTextConfig
        /// Whether it is a `CLIPTextModelWithProjection` (SDXL's second encoder).
        public let withProjection: Bool

        /// Every tensor of the encoder with pseudo-random F16 values.
        public func randomWeights(seed: UInt64 = 0) -> RandomWeightStore {
            RandomWeightStore(shapes: CatalogLayout.clipText(configuration, withProjection: withProjection),
                              sourceName: "random \(folder)", seed: seed)
        }
    }

    /// The text encoders, in the pipeline's order.
    public func textEncoders() throws -> [TextEncoder] {
        switch self {
        case .sd15:
            return [TextEncoder(folder: "text_encoder", configuration: try decode(CatalogConfigs.sd15TextEncoder),
                                withProjection: false)]
        case .sd2:
            return [TextEncoder(folder: "text_encoder", configuration: try decode(CatalogConfigs.sd2TextEncoder),
                                withProjection: false)]
        case .sdxl:
            return [
                TextEncoder(folder: "text_encoder", configuration: try decode(CatalogConfigs.sdxlTextEncoder),
                            withProjection: false),
                TextEncoder(folder: "text_encoder_2", configuration: try decode(CatalogConfigs.sdxlTextEncoder2),
                            withProjection: true),
            ]
        }
    }

    /// The UNet's `config.json`.
    public func unetConfiguration() throws -> UNet2DConditionConfig {
        switch self {
        case .sd15: return try decode(CatalogConfigs.sd15UNet)
        case .sd2: return try decode(CatalogConfigs.sd2UNet)
        case .sdxl: return try decode(CatalogConfigs.sdxlUNet)
        }
    }

    /// The VAE's `config.json`.
    public func vaeConfiguration() throws -> AutoencoderKLConfiguration {
        let json: String
        switch self {
        case .sd15: json = CatalogConfigs.sd15VAE
        case .sd2: json = CatalogConfigs.sd2VAE
        case .sdxl: json = CatalogConfigs.sdxlVAE
        }
        let configuration: AutoencoderKLConfiguration = try decode(json)
        try configuration.validate(file: "\(checkpoint) vae/config.json")
        return configuration
    }

    /// The family the checkpoint belongs to.
    public var family: ModelFamily {
        switch self {
        case .sd15: return .sd1
        case .sd2: return .sd2
        case .sdxl: return .sdxl
        }
    }

    /// The UNet over pseudo-random F16 weights on `device` (uploaded when a forward pass is first recorded); with
    /// `shapesOnly`, weights known by their shapes alone, for recording graphs that are checked, not run.
    /// Activations run in `precision` (nil: the weights' F16, as diffusers' `torch_dtype=float16`), convolutions by
    /// `convolutionStrategy` (`.automatic` for figures that stand for GPUs).
    public func makeUNet(device: GPUDevice, seed: UInt64 = 0, shapesOnly: Bool = false,
                         precision: ActivationPrecision? = nil, convolutionStrategy: ConvolutionStrategy = .fastest)
        throws -> UNet2DConditionModel {
        let configuration = try unetConfiguration()
        let store = RandomWeightStore(shapes: try CatalogLayout.unet(configuration),
                                      sourceName: "random \(rawValue) unet", seed: seed)
        return try UNet2DConditionModel(
            configuration: configuration,
            weights: shapesOnly
                ? .shapesOnly(store: store, device: device) : DeviceWeights(store: store, device: device),
            precision: precision, convolutionStrategy: convolutionStrategy)
    }

    /// The VAE over pseudo-random F16 weights on `device` (`shapesOnly` as `makeUNet`), in `precision` (nil: F16)
    /// but for the f32 upcast SDXL's pipeline makes of it (`StableDiffusionPrecision.vae`), convolutions by
    /// `convolutionStrategy` as `makeUNet`.
    public func makeAutoencoder(device: GPUDevice, seed: UInt64 = 0, shapesOnly: Bool = false,
                                precision: ActivationPrecision? = nil,
                                convolutionStrategy: ConvolutionStrategy = .fastest) throws -> AutoencoderKL {
        let configuration = try vaeConfiguration()
        let store = RandomWeightStore(shapes: CatalogLayout.autoencoderKL(configuration),
                                      sourceName: "random \(rawValue) vae", seed: seed)
        let resolved = ActivationPrecision.resolve(precision, weights: store.storageType())
        return try AutoencoderKL(
            configuration: configuration,
            weights: shapesOnly
                ? .shapesOnly(store: store, device: device) : DeviceWeights(store: store, device: device),
            precision: StableDiffusionPrecision.vae(resolved, configuration: configuration, family: family),
            convolutionStrategy: convolutionStrategy)
    }

    private func decode<T: Decodable>(_ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }
}
