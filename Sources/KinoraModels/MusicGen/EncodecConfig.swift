import Foundation
import KinoraTensor

/// The configuration of an EnCodec neural audio codec (transformers' `EncodecConfig`; MusicGen's audio tokenizer),
/// decoded from a standalone EnCodec `config.json` or from the `audio_encoder` entry of a MusicGen `config.json`
/// (`load(from:)` reads either). Keys missing from the file take transformers 5.23's defaults (those of
/// `facebook/encodec_24khz`).
public struct EncodecConfig: Codable, Sendable, Equatable {
    /// The bandwidths (kbps) the codec encodes at; the last sets how many codebooks the quantizer has.
    public var targetBandwidths: [Double]
    public var samplingRate: Int
    public var audioChannels: Int
    /// Whether the encoder normalised its input; its scales are not part of the codes, and decoding applies none
    /// (as transformers' `decode(codes, [None])`).
    public var normalize: Bool
    /// Set for codecs that encode in overlapping chunks (`facebook/encodec_48khz`), which this decoder does not
    /// take; MusicGen's codec has none.
    public var chunkLengthS: Double?
    public var overlap: Double?
    /// The latent width: the decoder's input channels.
    public var hiddenSize: Int
    /// The width of the decoder's last block; each earlier block is twice as wide.
    public var numFilters: Int
    public var numResidualLayers: Int
    /// The decoder's strides, first to last (the encoder's in reverse).
    public var upsamplingRatios: [Int]
    /// "weight_norm" (the only kind read here) or "time_group_norm".
    public var normType: String
    public var kernelSize: Int
    public var lastKernelSize: Int
    public var residualKernelSize: Int
    public var dilationGrowthRate: Int
    /// Causal convolutions pad on the left only and transposed ones trim on the right by `trimRightRatio`.
    public var useCausalConv: Bool
    /// The convolutions' padding: "reflect", "constant" (zeros) or "replicate".
    public var padMode: String
    /// How much narrower a residual branch is than its block.
    public var compress: Int
    public var numLstmLayers: Int
    public var trimRightRatio: Double
    /// Entries in each codebook (a power of two).
    public var codebookSize: Int
    /// The width of each codebook entry (`hidden_size` when the file leaves it out).
    public var codebookDim: Int
    /// Whether each residual block's skip path is a 1×1 convolution (else the identity).
    public var useConvShortcut: Bool

    enum CodingKeys: String, CodingKey {
        case targetBandwidths = "target_bandwidths"
        case samplingRate = "sampling_rate"
        case audioChannels = "audio_channels"
        case normalize
        case chunkLengthS = "chunk_length_s"
        case overlap
        case hiddenSize = "hidden_size"
        case numFilters = "num_filters"
        case numResidualLayers = "num_residual_layers"
        case upsamplingRatios = "upsampling_ratios"
        case normType = "norm_type"
        case kernelSize = "kernel_size"
        case lastKernelSize = "last_kernel_size"
        case residualKernelSize = "residual_kernel_size"
        case dilationGrowthRate = "dilation_growth_rate"
        case useCausalConv = "use_causal_conv"
        case padMode = "pad_mode"
        case compress
        case numLstmLayers = "num_lstm_layers"
        case trimRightRatio = "trim_right_ratio"
        case codebookSize = "codebook_size"
        case codebookDim = "codebook_dim"
        case useConvShortcut = "use_conv_shortcut"
    }

    /// A configuration with transformers' defaults for every value not given (`codebookDim` defaults to
    /// `hiddenSize`).
    public init(
        targetBandwidths: [Double] = [1.5, 3.0, 6.0, 12.0, 24.0], samplingRate: Int = 24000, audioChannels: Int = 1,
        normalize: Bool = false, chunkLengthS: Double? = nil, overlap: Double? = nil, hiddenSize: Int = 128,
        numFilters: Int = 32, numResidualLayers: Int = 1, upsamplingRatios: [Int] = [8, 5, 4, 2],
        normType: String = "weight_norm", kernelSize: Int = 7, lastKernelSize: Int = 7, residualKernelSize: Int = 3,
        dilationGrowthRate: Int = 2, useCausalConv: Bool = true, padMode: String = "reflect", compress: Int = 2,
        numLstmLayers: Int = 2, trimRightRatio: Double = 1.0, codebookSize: Int = 1024, codebookDim: Int? = nil,
        useConvShortcut: Bool = true
    ) {
        self.targetBandwidths = targetBandwidths
        self.samplingRate = samplingRate
        self.audioChannels = audioChannels
        self.normalize = normalize
        self.chunkLengthS = chunkLengthS
        self.overlap = overlap
        self.hiddenSize = hiddenSize
        self.numFilters = numFilters
        self.numResidualLayers = numResidualLayers
        self.upsamplingRatios = upsamplingRatios
        self.normType = normType
        self.kernelSize = kernelSize
        self.lastKernelSize = lastKernelSize
        self.residualKernelSize = residualKernelSize
        self.dilationGrowthRate = dilationGrowthRate
        self.useCausalConv = useCausalConv
        self.padMode = padMode
        self.compress = compress
        self.numLstmLayers = numLstmLayers
        self.trimRightRatio = trimRightRatio
        self.codebookSize = codebookSize
        self.codebookDim = codebookDim ?? hiddenSize
        self.useConvShortcut = useConvShortcut
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = EncodecConfig()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        let hiddenSize = try value(.hiddenSize, defaults.hiddenSize)
        self.init(
            targetBandwidths: try value(.targetBandwidths, defaults.targetBandwidths),
            samplingRate: try value(.samplingRate, defaults.samplingRate),
            audioChannels: try value(.audioChannels, defaults.audioChannels),
            normalize: try value(.normalize, defaults.normalize),
            chunkLengthS: try container.decodeIfPresent(Double.self, forKey: .chunkLengthS),
            overlap: try container.decodeIfPresent(Double.self, forKey: .overlap),
            hiddenSize: hiddenSize,
            numFilters: try value(.numFilters, defaults.numFilters),
            numResidualLayers: try value(.numResidualLayers, defaults.numResidualLayers),
            upsamplingRatios: try value(.upsamplingRatios, defaults.upsamplingRatios),
            normType: try value(.normType, defaults.normType),
            kernelSize: try value(.kernelSize, defaults.kernelSize),
            lastKernelSize: try value(.lastKernelSize, defaults.lastKernelSize),
            residualKernelSize: try value(.residualKernelSize, defaults.residualKernelSize),
            dilationGrowthRate: try value(.dilationGrowthRate, defaults.dilationGrowthRate),
            useCausalConv: try value(.useCausalConv, defaults.useCausalConv),
            padMode: try value(.padMode, defaults.padMode),
            compress: try value(.compress, defaults.compress),
            numLstmLayers: try value(.numLstmLayers, defaults.numLstmLayers),
            trimRightRatio: try value(.trimRightRatio, defaults.trimRightRatio),
            codebookSize: try value(.codebookSize, defaults.codebookSize),
            codebookDim: try container.decodeIfPresent(Int.self, forKey: .codebookDim) ?? hiddenSize,
            useConvShortcut: try value(.useConvShortcut, defaults.useConvShortcut))
    }

    /// The codec of `facebook/musicgen-small` (and medium, large): 32 kHz mono, strides [8, 5, 4, 4] (640 samples,
    /// 50 frames a second), 4 codebooks of 2048 entries of width 128, non-causal reflect-padded convolutions.
    public static let musicgen32kHz = EncodecConfig(
        targetBandwidths: [2.2], samplingRate: 32000, hiddenSize: 128, numFilters: 64,
        upsamplingRatios: [8, 5, 4, 4], useCausalConv: false, codebookSize: 2048, useConvShortcut: false)

    // MARK: Derived sizes

    /// Audio samples per frame of codes: the product of the strides.
    public var hopLength: Int { upsamplingRatios.reduce(1, *) }
    /// Frames of codes per second, rounded up (transformers' `frame_rate`).
    public var frameRate: Int { (samplingRate + hopLength - 1) / hopLength }
    /// Bits of one code: ⌈log₂ codebook_size⌉.
    public var codebookBits: Int { Int.bitWidth - (max(codebookSize, 1) - 1).leadingZeroBitCount }
    /// The codebooks the quantizer has, as transformers counts them from the largest bandwidth.
    public var numQuantizers: Int {
        guard let bandwidth = targetBandwidths.last else { return 0 }
        return Int((1000 * bandwidth / Double(frameRate * codebookBits)).rounded(.down))
    }
    /// The decoder's widths: its first convolution's and the LSTM's, then each block's output (the last is
    /// `num_filters`).
    public var decoderWidths: [Int] {
        (0...upsamplingRatios.count).map { numFilters << (upsamplingRatios.count - $0) }
    }
    /// A one-line description for messages.
    var summary: String {
        "an EnCodec with hidden_size \(hiddenSize), num_filters \(numFilters), upsampling_ratios "
            + "\(upsamplingRatios), \(numLstmLayers) LSTM layers, \(numQuantizers) codebooks of \(codebookSize)"
    }

    // MARK: Loading and checking

    /// Decodes and checks `config.json` at `url`: a standalone EnCodec's, or a MusicGen's (its `audio_encoder`
    /// entry); every failure names the file.
    public static func load(from url: URL) throws -> EncodecConfig {
        let file = try ConfigurationJSON.decode(ConfigurationFile.self, from: url) {
            EncodecError.invalidConfiguration(file: url.path, reason: $0)
        }
        try file.configuration.validate(source: url.path)
        return file.configuration
    }

    /// A standalone EnCodec configuration, or the one under a MusicGen configuration's `audio_encoder`.
    private struct ConfigurationFile: Decodable {
        let configuration: EncodecConfig

        enum Keys: String, CodingKey { case audioEncoder = "audio_encoder" }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            configuration =
                try container.decodeIfPresent(EncodecConfig.self, forKey: .audioEncoder)
                ?? EncodecConfig(from: decoder)
        }
    }

    /// The padding mode of `padMode`.
    var padding: Graph.PadMode {
        switch padMode {
        case "constant": return .zeros
        case "replicate": return .replicate
        default: return .reflect
        }
    }

    /// Throws when the values cannot describe an EnCodec this decoder runs.
    public func validate(source: String = "EncodecConfig") throws {
        func fail(_ reason: String) -> EncodecError { .invalidConfiguration(file: source, reason: reason) }
        for (key, size) in [
            ("sampling_rate", samplingRate), ("audio_channels", audioChannels), ("hidden_size", hiddenSize),
            ("num_filters", numFilters), ("kernel_size", kernelSize), ("last_kernel_size", lastKernelSize),
            ("residual_kernel_size", residualKernelSize), ("dilation_growth_rate", dilationGrowthRate),
            ("compress", compress), ("num_lstm_layers", numLstmLayers), ("codebook_size", codebookSize),
        ] where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard numResidualLayers >= 0 else { throw fail("num_residual_layers must be ≥ 0, got \(numResidualLayers)") }
        guard !upsamplingRatios.isEmpty, upsamplingRatios.allSatisfy({ $0 >= 1 }) else {
            throw fail("upsampling_ratios \(upsamplingRatios) must be a non-empty list of strides ≥ 1")
        }
        guard normType == "weight_norm" else {
            throw fail("norm_type '\(normType)' is not supported: only weight_norm convolutions are read")
        }
        guard ["reflect", "constant", "replicate"].contains(padMode) else {
            throw fail("pad_mode '\(padMode)' is not supported: expected reflect, constant or replicate")
        }
        guard chunkLengthS == nil else {
            throw fail(
                "chunk_length_s \(chunkLengthS!) is set: codecs that encode in overlapping chunks "
                    + "(facebook/encodec_48khz) are not supported, only one chunk (MusicGen's codec)")
        }
        guard codebookSize & (codebookSize - 1) == 0 else {
            throw fail("codebook_size \(codebookSize) must be a power of 2")
        }
        guard codebookDim == hiddenSize else {
            throw fail(
                "codebook_dim \(codebookDim) must equal hidden_size \(hiddenSize): the summed codebook entries are the "
                    + "decoder's input")
        }
        guard numQuantizers >= 1 else {
            throw fail("target_bandwidths \(targetBandwidths) leave no codebook at \(frameRate) frames a second")
        }
        guard numFilters >= compress else {
            throw fail("num_filters \(numFilters) must be at least compress \(compress) (residual branch width)")
        }
        guard useCausalConv || trimRightRatio == 1 else {
            throw fail("trim_right_ratio \(trimRightRatio) other than 1.0 needs use_causal_conv")
        }
        guard (0...1).contains(trimRightRatio) else {
            throw fail("trim_right_ratio \(trimRightRatio) must be in [0, 1]")
        }
    }
}
