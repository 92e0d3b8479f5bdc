import Foundation

/// The configuration of a diffusers `AutoencoderKL` (the SD 1.x/2.x/XL, SD3 and FLUX image VAE), decoded from the
/// model's own `config.json`. Keys missing from older files take diffusers' defaults.
public struct AutoencoderKLConfiguration: Codable, Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var downBlockTypes: [String]
    public var upBlockTypes: [String]
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var actFn: String
    public var latentChannels: Int
    public var normNumGroups: Int
    /// The training image size; diffusers' default tile edge in pixels (`tile_sample_min_size`).
    public var sampleSize: Int
    /// Latents handed to the denoiser are `(z − shift) · scalingFactor` (see `AutoencoderKL.scaleLatents`).
    public var scalingFactor: Float
    public var shiftFactor: Float?
    public var forceUpcast: Bool
    public var useQuantConv: Bool
    public var usePostQuantConv: Bool
    public var midBlockAddAttention: Bool

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block"
        case actFn = "act_fn"
        case latentChannels = "latent_channels"
        case normNumGroups = "norm_num_groups"
        case sampleSize = "sample_size"
        case scalingFactor = "scaling_factor"
        case shiftFactor = "shift_factor"
        case forceUpcast = "force_upcast"
        case useQuantConv = "use_quant_conv"
        case usePostQuantConv = "use_post_quant_conv"
        case midBlockAddAttention = "mid_block_add_attention"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        inChannels = try value(.inChannels, 3)
        outChannels = try value(.outChannels, 3)
        downBlockTypes = try value(.downBlockTypes, ["DownEncoderBlock2D"])
        upBlockTypes = try value(.upBlockTypes, ["UpDecoderBlock2D"])
        blockOutChannels = try value(.blockOutChannels, [64])
        layersPerBlock = try value(.layersPerBlock, 1)
        actFn = try value(.actFn, "silu")
        latentChannels = try value(.latentChannels, 4)
        normNumGroups = try value(.normNumGroups, 32)
        // diffusers accepts an int or a list (whose first entry it uses for tiling).
        if let sizes = try? container.decodeIfPresent([Int].self, forKey: .sampleSize), let first = sizes.first {
            sampleSize = first
        } else {
            sampleSize = try value(.sampleSize, 32)
        }
        scalingFactor = try value(.scalingFactor, 0.18215)
        shiftFactor = try container.decodeIfPresent(Float.self, forKey: .shiftFactor)
        forceUpcast = try value(.forceUpcast, true)
        useQuantConv = try value(.useQuantConv, true)
        usePostQuantConv = try value(.usePostQuantConv, true)
        midBlockAddAttention = try value(.midBlockAddAttention, true)
    }

    /// Reads and checks `config.json`.
    public static func load(from url: URL) throws -> AutoencoderKLConfiguration {
        let data: Data
        do {
            data = try RegularFile.contents(of: url)
        } catch {
            throw AutoencoderKLError.invalidConfiguration(file: url.path, reason: "cannot read it (\(error))")
        }
        let configuration: AutoencoderKLConfiguration
        do {
            configuration = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: data)
        } catch {
            throw AutoencoderKLError.invalidConfiguration(file: url.path, reason: "\(error)")
        }
        try configuration.validate(file: url.path)
        return configuration
    }

    /// Checks that this is an architecture `AutoencoderKL` implements; `file` names the source in the error.
    public func validate(file: String = "config.json") throws {
        func fail(_ reason: String) -> AutoencoderKLError { .invalidConfiguration(file: file, reason: reason) }
        guard actFn == "silu" else { throw fail("act_fn '\(actFn)' is not supported (only silu)") }
        guard !blockOutChannels.isEmpty, downBlockTypes.count == blockOutChannels.count,
              upBlockTypes.count == blockOutChannels.count else {
            throw fail("down_block_types, up_block_types and block_out_channels must have the same length")
        }
        guard downBlockTypes.allSatisfy({ $0 == "DownEncoderBlock2D" }),
              upBlockTypes.allSatisfy({ $0 == "UpDecoderBlock2D" }) else {
            throw fail("only DownEncoderBlock2D / UpDecoderBlock2D blocks are supported, got \(downBlockTypes) "
                + "and \(upBlockTypes)")
        }
        guard normNumGroups > 0, blockOutChannels.allSatisfy({ $0 > 0 && $0 % normNumGroups == 0 }) else {
            throw fail("block_out_channels \(blockOutChannels) must be multiples of norm_num_groups \(normNumGroups)")
        }
        guard layersPerBlock >= 1, latentChannels >= 1, inChannels >= 1, outChannels >= 1 else {
            throw fail("layers_per_block, latent_channels, in_channels and out_channels must be positive")
        }
    }

    /// Image pixels per latent pixel along each axis: 2^(levels − 1).
    public var downsamplingFactor: Int { 1 << (blockOutChannels.count - 1) }
}

/// Why an `AutoencoderKL` could not be built or run.
public enum AutoencoderKLError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(file: String, reason: String)
    /// A tensor handed to the VAE of the wrong shape.
    case invalidInput(operation: String, shape: [Int], reason: String)
    /// The weights disagree with the configuration (a tensor present that the config disables, or the reverse).
    case weightsMismatch(file: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let reason):
            return "\(file): not a supported AutoencoderKL configuration: \(reason)"
        case .invalidInput(let operation, let shape, let reason):
            return "AutoencoderKL \(operation): input of shape \(shape): \(reason)"
        case .weightsMismatch(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        }
    }
}
