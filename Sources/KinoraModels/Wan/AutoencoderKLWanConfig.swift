import Foundation
import KinoraFormats

/// The configuration of a Wan video VAE (diffusers' `AutoencoderKLWan`), decoded from the `config.json` of a
/// diffusers `vae/` folder or read off a single file's tensor shapes. Keys missing from the file take diffusers
/// 0.42.1's defaults (the Wan 2.1 VAE); `dropout` and `clip_output` do not change inference and are ignored.
public struct AutoencoderKLWanConfig: Codable, Sendable, Equatable {
    public var baseDim: Int
    /// The decoder's base width when it differs from the encoder's (Wan 2.2: 256 against 160).
    public var decoderBaseDim: Int?
    public var zDim: Int
    public var dimMult: [Int]
    public var numResBlocks: Int
    /// Scales of extra attention blocks in the down path; every released Wan VAE has none, and Kinora runs none.
    public var attnScales: [Double]
    /// Per level boundary (`dim_mult.count − 1` entries), whether the encoder halves time there; the decoder doubles
    /// time at the mirrored boundaries.
    public var temperalDownsample: [Bool]
    public var latentsMean: [Float]
    public var latentsStd: [Float]
    /// Wan 2.2: residual down and up blocks with the AvgDown3D / DupUp3D shortcuts.
    public var isResidual: Bool
    /// Channels of the (patchified) encoder input and decoder output: 3, or 3 · patch_size² for Wan 2.2.
    public var inChannels: Int
    public var outChannels: Int
    /// Wan 2.2's pixel patching of the RGB video around the encoder and decoder (2), or nil.
    public var patchSize: Int?
    public var scaleFactorTemporal: Int?
    public var scaleFactorSpatial: Int?

    enum CodingKeys: String, CodingKey {
        case baseDim = "base_dim"
        case decoderBaseDim = "decoder_base_dim"
        case zDim = "z_dim"
        case dimMult = "dim_mult"
        case numResBlocks = "num_res_blocks"
        case attnScales = "attn_scales"
        case temperalDownsample = "temperal_downsample"
        case latentsMean = "latents_mean"
        case latentsStd = "latents_std"
        case isResidual = "is_residual"
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case patchSize = "patch_size"
        case scaleFactorTemporal = "scale_factor_temporal"
        case scaleFactorSpatial = "scale_factor_spatial"
    }

    /// A configuration with diffusers' `AutoencoderKLWan` defaults (the Wan 2.1 VAE) for every value not given.
    public init(
        baseDim: Int = 96, decoderBaseDim: Int? = nil, zDim: Int = 16, dimMult: [Int] = [1, 2, 4, 4],
        numResBlocks: Int = 2, attnScales: [Double] = [], temperalDownsample: [Bool] = [false, true, true],
        latentsMean: [Float] = Self.wan21LatentsMean, latentsStd: [Float] = Self.wan21LatentsStd,
        isResidual: Bool = false, inChannels: Int = 3, outChannels: Int = 3, patchSize: Int? = nil,
        scaleFactorTemporal: Int? = 4, scaleFactorSpatial: Int? = 8
    ) {
        self.baseDim = baseDim
        self.decoderBaseDim = decoderBaseDim
        self.zDim = zDim
        self.dimMult = dimMult
        self.numResBlocks = numResBlocks
        self.attnScales = attnScales
        self.temperalDownsample = temperalDownsample
        self.latentsMean = latentsMean
        self.latentsStd = latentsStd
        self.isResidual = isResidual
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.patchSize = patchSize
        self.scaleFactorTemporal = scaleFactorTemporal
        self.scaleFactorSpatial = scaleFactorSpatial
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AutoencoderKLWanConfig()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        // `patch_size`, `decoder_base_dim` and the scale factors may be written as null: diffusers' own defaults.
        func optional(_ key: CodingKeys, _ fallback: Int?) throws -> Int? {
            guard container.contains(key) else { return fallback }
            return try container.decodeIfPresent(Int.self, forKey: key)
        }
        self.init(
            baseDim: try value(.baseDim, defaults.baseDim),
            decoderBaseDim: try optional(.decoderBaseDim, nil),
            zDim: try value(.zDim, defaults.zDim), dimMult: try value(.dimMult, defaults.dimMult),
            numResBlocks: try value(.numResBlocks, defaults.numResBlocks),
            attnScales: try value(.attnScales, defaults.attnScales),
            temperalDownsample: try value(.temperalDownsample, defaults.temperalDownsample),
            latentsMean: try value(.latentsMean, defaults.latentsMean),
            latentsStd: try value(.latentsStd, defaults.latentsStd),
            isResidual: try value(.isResidual, defaults.isResidual),
            inChannels: try value(.inChannels, defaults.inChannels),
            outChannels: try value(.outChannels, defaults.outChannels),
            patchSize: try optional(.patchSize, nil),
            scaleFactorTemporal: try optional(.scaleFactorTemporal, defaults.scaleFactorTemporal),
            scaleFactorSpatial: try optional(.scaleFactorSpatial, defaults.scaleFactorSpatial))
    }

    /// The Wan 2.1 VAE (`Wan-AI/Wan2.1-T2V-1.3B-Diffusers/vae`, ComfyUI's `wan_2.1_vae.safetensors`): 16 latent
    /// channels, 4×8×8 compression.
    public static let wan21 = AutoencoderKLWanConfig()

    /// The Wan 2.2 VAE (`Wan-AI/Wan2.2-TI2V-5B-Diffusers/vae`, ComfyUI's `wan2.2_vae.safetensors`): 48 latent
    /// channels, 4×16×16 compression with 2×2 pixel patches, residual blocks.
    public static let wan22 = AutoencoderKLWanConfig(
        baseDim: 160, decoderBaseDim: 256, zDim: 48, latentsMean: wan22LatentsMean, latentsStd: wan22LatentsStd,
        isResidual: true, inChannels: 12, outChannels: 12, patchSize: 2, scaleFactorSpatial: 16)

    /// diffusers' default `latents_mean` (the Wan 2.1 VAE's, `wan/modules/vae.py`).
    public static let wan21LatentsMean: [Float] = [
        -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715, 0.5517, -0.3632,
        -0.1922, -0.9497, 0.2503, -0.2921,
    ]
    /// diffusers' default `latents_std` (the Wan 2.1 VAE's).
    public static let wan21LatentsStd: [Float] = [
        2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579, 1.6382,
        1.1253, 2.8251, 1.9160,
    ]
    /// The Wan 2.2 VAE's `latents_mean` (`Wan2.2-TI2V-5B-Diffusers/vae/config.json`, `wan/modules/vae2_2.py`).
    public static let wan22LatentsMean: [Float] = [
        -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542, 0.2813, 0.0891,
        0.1570, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
        -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230, -0.0313, -0.1649, 0.0117, 0.0723,
        -0.2839, -0.2083, -0.0520, 0.3748, 0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
    ]
    /// The Wan 2.2 VAE's `latents_std`.
    public static let wan22LatentsStd: [Float] = [
        0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901, 0.6885,
        0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659, 0.7069, 0.5338,
        0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458,
        1.6887, 0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744,
    ]

    // MARK: Derived sizes

    /// The decoder's base width (`decoder_base_dim`, else `base_dim`).
    public var decoderDim: Int { decoderBaseDim ?? baseDim }
    /// Number of resolution levels.
    public var levels: Int { dimMult.count }
    /// The encoder's widths: conv_in's, then each level's.
    public var encoderDims: [Int] { ([1] + dimMult).map { baseDim * $0 } }
    /// The decoder's widths: conv_in's (and the mid block's), then each up block's.
    public var decoderDims: [Int] { ([dimMult[dimMult.count - 1]] + dimMult.reversed()).map { decoderDim * $0 } }
    /// Whether the decoder doubles time after up block `level` (diffusers' `temperal_upsample`, reversed).
    public func temporalUpsample(level: Int) -> Bool {
        level < levels - 1 && temperalDownsample.reversed()[level]
    }
    /// Whether the encoder halves time after level `level`.
    public func temporalDownsample(level: Int) -> Bool {
        level < levels - 1 && temperalDownsample[level]
    }
    /// Pixels per patch side (1 without patching).
    public var patch: Int { patchSize ?? 1 }
    /// RGB channels of the video: the (patchified) encoder input's channels over patch².
    public var videoChannels: Int { inChannels / (patch * patch) }
    /// Pixels per latent pixel along height and width, from the architecture: 2^(levels − 1) · patch.
    public var spatialCompression: Int { (1 << (levels - 1)) * patch }
    /// Video frames per latent frame after the first: 2^(temporal downsamples).
    public var temporalCompression: Int { 1 << (0..<(levels - 1)).filter { temporalDownsample(level: $0) }.count }

    // MARK: Loading and checking

    /// Decodes and checks `config.json` at `url`; every failure names the file.
    public static func load(from url: URL) throws -> AutoencoderKLWanConfig {
        let configuration = try ConfigurationJSON.decode(AutoencoderKLWanConfig.self, from: url) {
            AutoencoderKLWanError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.validate(source: url.path)
        return configuration
    }

    /// Throws when the sizes cannot describe a Wan VAE Kinora runs.
    public func validate(source: String = "AutoencoderKLWanConfig") throws {
        func fail(_ reason: String) -> AutoencoderKLWanError { .invalidConfiguration(file: source, reason: reason) }
        for (key, size) in [
            ("base_dim", baseDim), ("decoder_base_dim", decoderDim), ("z_dim", zDim),
            ("in_channels", inChannels), ("out_channels", outChannels),
        ] where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard !dimMult.isEmpty, dimMult.allSatisfy({ $0 > 0 }) else {
            throw fail("dim_mult \(dimMult) must be a non-empty list of positive multipliers")
        }
        guard numResBlocks >= 1 else { throw fail("num_res_blocks must be at least 1, got \(numResBlocks)") }
        guard attnScales.isEmpty else {
            throw fail(
                "attn_scales \(attnScales): attention blocks in the down path are not supported (no released "
                    + "Wan VAE has them)")
        }
        guard temperalDownsample.count == levels - 1 else {
            throw fail(
                "temperal_downsample \(temperalDownsample) needs one entry for each of the \(levels - 1) level "
                    + "boundaries of dim_mult \(dimMult)")
        }
        guard latentsMean.count == latentsStd.count, latentsMean.isEmpty || latentsMean.count == zDim else {
            throw fail(
                "latents_mean (\(latentsMean.count) values) and latents_std (\(latentsStd.count)) need one "
                    + "value per latent channel (z_dim \(zDim))")
        }
        guard latentsStd.allSatisfy({ $0 != 0 && $0.isFinite }), latentsMean.allSatisfy(\.isFinite) else {
            throw fail("latents_std must be finite and non-zero, latents_mean finite")
        }
        if let patchSize, patchSize < 1 { throw fail("patch_size must be at least 1, got \(patchSize)") }
        guard inChannels % (patch * patch) == 0, outChannels % (patch * patch) == 0 else {
            throw fail(
                "in_channels \(inChannels) and out_channels \(outChannels) must be multiples of patch_size² "
                    + "\(patch * patch)")
        }
        if let scaleFactorSpatial, scaleFactorSpatial != spatialCompression {
            throw fail(
                "scale_factor_spatial \(scaleFactorSpatial) disagrees with the architecture, which compresses "
                    + "\(spatialCompression)× (2^(levels − 1) · patch_size)")
        }
        if let scaleFactorTemporal, scaleFactorTemporal != temporalCompression {
            throw fail(
                "scale_factor_temporal \(scaleFactorTemporal) disagrees with temperal_downsample "
                    + "\(temperalDownsample), which compresses \(temporalCompression)×")
        }
        if isResidual {
            let dims = encoderDims
            for level in 0..<levels {
                let factor = (temporalDownsample(level: level) ? 2 : 1) * (level < levels - 1 ? 4 : 1)
                guard dims[level] * factor % dims[level + 1] == 0 else {
                    throw fail(
                        "AvgDown3D of down block \(level) cannot average \(dims[level]) channels × \(factor) "
                            + "into \(dims[level + 1])")
                }
            }
            let up = decoderDims
            for level in 0..<(levels - 1) {
                let factor = (temporalUpsample(level: level) ? 2 : 1) * 4
                guard up[level + 1] * factor % up[level] == 0 else {
                    throw fail(
                        "DupUp3D of up block \(level) cannot spread \(up[level]) channels over "
                            + "\(up[level + 1]) × \(factor)")
                }
            }
        }
    }

}
