import Foundation
import KinoraFormats
import KinoraGPU

/// What a stable-audio-tools `model_config.json` (shipped beside `model.safetensors` in
/// `stabilityai/stable-audio-open-1.0` and `-small`) says that the weights do not: the objective, the window, the
/// prompt length, the seconds range, the heads, the sample rate. Every value is optional; the checkpoint's family
/// fills what is missing (`StableAudioFamily`).
public struct StableAudioToolsModelConfig: Sendable, Equatable {
    /// `model.diffusion.diffusion_objective`: "v", "rectified_flow" or "rf_denoiser".
    public var objective: String?
    /// `sample_size`, in audio samples.
    public var sampleSize: Int?
    public var sampleRate: Int?
    /// `model.pretransform.config.downsampling_ratio`.
    public var downsamplingRatio: Int?
    /// The `prompt` conditioner's `max_length`.
    public var promptTokens: Int?
    /// The `seconds_total` conditioner's `min_val` and `max_val`.
    public var secondsRange: (min: Float, max: Float)?
    /// `model.diffusion.config.num_heads`.
    public var numHeads: Int?

    public init() {}

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.objective == rhs.objective && lhs.sampleSize == rhs.sampleSize && lhs.sampleRate == rhs.sampleRate
            && lhs.downsamplingRatio == rhs.downsamplingRatio && lhs.promptTokens == rhs.promptTokens
            && lhs.secondsRange?.min == rhs.secondsRange?.min && lhs.secondsRange?.max == rhs.secondsRange?.max
            && lhs.numHeads == rhs.numHeads
    }

    /// Reads `url`; a file that is not a stable-audio-tools `diffusion_cond` config is an error naming it.
    public static func load(from url: URL) throws -> StableAudioToolsModelConfig {
        func fail(_ reason: String) -> StableAudioPipelineError { .mismatchedParts(folder: url.path, reason: reason) }
        guard let data = try? Data(contentsOf: url),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw fail("not a readable JSON object") }
        guard (root["model_type"] as? String) == "diffusion_cond", let model = root["model"] as? [String: Any] else {
            throw fail(
                "not a stable-audio-tools diffusion_cond model config (model_type \(root["model_type"] ?? "none"))")
        }
        func int(_ value: Any?) -> Int? { (value as? NSNumber).map { $0.intValue } }
        var config = StableAudioToolsModelConfig()
        config.sampleSize = int(root["sample_size"])
        config.sampleRate = int(root["sample_rate"])
        let pretransform = (model["pretransform"] as? [String: Any])?["config"] as? [String: Any]
        config.downsamplingRatio = int(pretransform?["downsampling_ratio"])
        let diffusion = model["diffusion"] as? [String: Any]
        config.objective = diffusion?["diffusion_objective"] as? String ?? "v"
        config.numHeads = int((diffusion?["config"] as? [String: Any])?["num_heads"])
        let conditioners = ((model["conditioning"] as? [String: Any])?["configs"] as? [[String: Any]]) ?? []
        for conditioner in conditioners {
            let settings = conditioner["config"] as? [String: Any] ?? [:]
            switch conditioner["id"] as? String {
            case "prompt": config.promptTokens = int(settings["max_length"]) ?? 128
            case "seconds_total":
                if let low = settings["min_val"] as? NSNumber, let high = settings["max_val"] as? NSNumber {
                    config.secondsRange = (low.floatValue, high.floatValue)
                }
            default: break
            }
        }
        return config
    }
}

/// The Stable Audio models a stable-audio-tools checkpoint can be, told apart by their conditioners: a seconds-start
/// conditioner is Stable Audio Open 1.0's (v objective), its absence Stable Audio Open Small's (rectified flow,
/// distilled for ping-pong sampling).
public enum StableAudioFamily: String, Sendable {
    case open1 = "Stable Audio Open 1.0"
    case openSmall = "Stable Audio Open Small"

    /// Latent frames of the window: 2097152 samples (47.55 s) for 1.0, 524288 (11.89 s) for Small, over 2048.
    public var latentFrames: Int { self == .open1 ? 1024 : 256 }
    /// The T5 conditioner's `max_length`: 128 for 1.0; 64 for Small (Arm's export of the model cuts T5's output to
    /// 64 tokens "to match the DiT", ARM-software/ML-examples `kleidiai-examples/audiogen/scripts/
    /// export_conditioners.py`).
    public var promptTokens: Int { self == .open1 ? 128 : 64 }
    /// The seconds conditioners' range: 0…512 for 1.0, 0…256 for Small.
    public var secondsRange: (min: Float, max: Float) { self == .open1 ? (0, 512) : (0, 256) }
    public var sampling: StableAudioSampling { self == .open1 ? .cosineDPM : .pingPong }
}

extension StableAudioPipeline {
    /// Loads a stable-audio-tools checkpoint: one file with the DiT (`model.model.`), the conditioners
    /// (`conditioner.conditioners.`) and the Oobleck VAE (`pretransform.model.`) — Stable Audio Open 1.0's or Small's
    /// `model.safetensors`, ComfyUI's `stable_audio_open_1.0.safetensors` — plus the T5 it was trained with and
    /// that T5's tokenizer, which these files do not hold.
    ///
    /// - Parameters:
    ///   - checkpoint: the checkpoint file (`.safetensors`, or a PyTorch `.ckpt`).
    ///   - textEncoder: T5-base's weights: ComfyUI's `t5_base.safetensors`, or a transformers `T5EncoderModel` file
    ///     or folder; its configuration is the `config.json` beside the file when there is one, else read off the
    ///     tensor shapes.
    ///   - tokenizer: T5's tokenizer: a folder with `tokenizer.json` or `spiece.model`, or either file. Kinora ships
    ///     none; t5-base's comes with `google-t5/t5-base` on Hugging Face and with ComfyUI (`comfy/t5_tokenizer`).
    ///   - configuration: stable-audio-tools' `model_config.json` (default: the one beside the checkpoint, if any);
    ///     without one the window, prompt length, seconds range and heads are the family's (`StableAudioFamily`).
    ///   - vae: a file with the VAE when the checkpoint holds none.
    /// - Throws: `WeightsError.unrecognizedCheckpoint` naming the file when it is not a Stable Audio checkpoint (no
    ///   `model.model.to_timestep_embed`, or no seconds-total conditioner), and the parts' own errors.
    public convenience init(
        checkpoint: URL, textEncoder: URL, tokenizer: URL, configuration: URL? = nil, vae: URL? = nil,
        device: GPUDevice
    ) throws {
        let store = try WeightFile.open(checkpoint)
        let names = Set(store.tensorNames)
        guard names.contains(StableAudioDiTKeyMap.anchor) else {
            throw WeightsError.unrecognizedCheckpoint(
                file: checkpoint.path,
                reason: "not a Stable Audio checkpoint (stable-audio-tools layout): no '\(StableAudioDiTKeyMap.anchor)'"
                    + Self.familyHint(names) + "; its first tensors are "
                    + store.tensorNames.prefix(3).map { "'\($0)'" }.joined(separator: ", "))
        }
        guard names.contains(StableAudioDiTKeyMap.secondsTotal) else {
            throw WeightsError.unrecognizedCheckpoint(
                file: checkpoint.path,
                reason: "a stable-audio-tools diffusion model without the seconds-total conditioner "
                    + "'\(StableAudioDiTKeyMap.secondsTotal)': not Stable Audio Open 1.0 or Small")
        }
        let family: StableAudioFamily = names.contains(StableAudioDiTKeyMap.secondsStart) ? .open1 : .openSmall
        let beside = checkpoint.deletingLastPathComponent().appending(path: "model_config.json")
        let configURL = configuration ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil)
        let config =
            try configURL.map { try StableAudioToolsModelConfig.load(from: $0) } ?? StableAudioToolsModelConfig()
        let sampling: StableAudioSampling
        switch config.objective {
        case nil: sampling = family.sampling
        case "v": sampling = .cosineDPM
        case "rectified_flow", "rf_denoiser": sampling = .pingPong
        case let other?:
            throw StableAudioPipelineError.mismatchedParts(
                folder: configURL?.path ?? checkpoint.path,
                reason: "diffusion_objective '\(other)' is not one Kinora samples (v, rectified_flow, rf_denoiser)")
        }

        // The VAE first: its hop turns the config's window into latent frames.
        let vaeStore = try OobleckKeyMap.layerNames(vae.map { try WeightFile.open($0) } ?? store)
        let vaeConfiguration = try AutoencoderOobleckConfig.inferred(
            from: vaeStore, samplingRate: config.sampleRate ?? 44100)
        let vaeModel = try AutoencoderOobleck(
            configuration: vaeConfiguration, weights: DeviceWeights(store: vaeStore, device: device))
        if let ratio = config.downsamplingRatio, ratio != vaeConfiguration.hopLength {
            throw StableAudioPipelineError.mismatchedParts(
                folder: checkpoint.path,
                reason: "the VAE's strides make \(vaeConfiguration.hopLength) samples per latent frame; "
                    + "model_config.json says downsampling_ratio \(ratio)")
        }

        let ditStore = StableAudioDiTKeyMap.transformer(store)
        let frames = config.sampleSize.map { $0 / vaeConfiguration.hopLength } ?? family.latentFrames
        let dit = try StableAudioDiTConfig.inferred(from: ditStore, sampleSize: frames, numHeads: config.numHeads)
        let transformer = try StableAudioDiTModel(
            configuration: dit, weights: DeviceWeights(store: ditStore, device: device))

        let encoder = try Self.textEncoder(textEncoder, device: device)
        let projectionStore = StableAudioDiTKeyMap.projection(store)
        let range = config.secondsRange ?? family.secondsRange
        let projectionConfiguration = try StableAudioProjectionConfig.inferred(
            from: projectionStore, textEncoderDim: encoder.configuration.dModel, minValue: range.min,
            maxValue: range.max)
        let projection = try StableAudioProjectionModel(
            configuration: projectionConfiguration, weights: DeviceWeights(store: projectionStore, device: device))

        try self.init(
            tokenizer: Self.tokenizer(tokenizer), textEncoder: encoder, projection: projection,
            transformer: transformer, vae: vaeModel, scheduler: SchedulerConfiguration(), sampling: sampling,
            promptTokens: config.promptTokens ?? family.promptTokens, device: device, source: checkpoint.path)
    }

    /// What else the file may be, for the refusal's message.
    static func familyHint(_ names: Set<String>) -> String {
        if names.contains(where: { $0.hasPrefix("model.diffusion_model.") }) {
            return " (it holds 'model.diffusion_model.': a Stable Diffusion-style checkpoint)"
        }
        if names.contains(where: { $0.hasPrefix("transformer_blocks.") || $0.hasPrefix("time_proj.") }) {
            return " (its names are diffusers': load the diffusers folder instead)"
        }
        if names.contains(where: { $0.hasPrefix("encoder.block.") }) {
            return " (it holds 'encoder.block.': a T5 encoder, which goes to the text-encoder option)"
        }
        return ""
    }

    /// T5 from a file or a transformers folder.
    static func textEncoder(_ url: URL, device: GPUDevice) throws -> UMT5EncoderModel {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw StableAudioPipelineError.invalidRequest("no T5 text encoder at \(url.path)")
        }
        if isFolder.boolValue { return try UMT5EncoderModel(folder: url, device: device) }
        let beside = url.deletingLastPathComponent().appending(path: "config.json")
        let configuration =
            FileManager.default.fileExists(atPath: beside.path)
            ? try UMT5Config.load(from: beside) : nil
        return try UMT5EncoderModel(file: url, device: device, configuration: configuration)
    }

    /// A T5 tokenizer from a folder, a `tokenizer.json` or a SentencePiece model.
    static func tokenizer(_ url: URL) throws -> T5Tokenizer {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw StableAudioPipelineError.invalidRequest(
                "no T5 tokenizer at \(url.path): give a folder with tokenizer.json or spiece.model (t5-base's)")
        }
        if isFolder.boolValue { return try T5Tokenizer(folder: url) }
        let data = try Data(contentsOf: url)
        return url.pathExtension == "json"
            ? try T5Tokenizer(tokenizerJSON: data, file: url.path)
            : try T5Tokenizer(sentencePieceModel: data, file: url.path)
    }
}

extension StableAudioDiTConfig {
    /// The configuration the DiT's tensors (under diffusers' names) describe: widths from `proj_in`, `proj_out`,
    /// `cross_attention_proj`, `global_proj` and `time_proj`, the layer count, the key/value width from `attn2.to_k`,
    /// and query/key norms from `attn1.norm_q`. The head width is the norms' when there are any; otherwise
    /// `numHeads` (model_config.json's `num_heads`) splits the hidden width, and without it heads are 64 wide
    /// (stable-audio-tools' default, Stable Audio Open 1.0's). `sampleSize` is the window in latent frames.
    static func inferred(from store: any WeightStore, sampleSize: Int, numHeads: Int?) throws -> StableAudioDiTConfig {
        let table = ShapeTable(store)
        let projectIn = try table.shape("proj_in.weight", rank: 2)
        let width = projectIn[0]
        let qkNorm = table.contains("transformer_blocks.0.attn1.norm_q.weight")
        let headDim =
            try qkNorm
            ? table.shape("transformer_blocks.0.attn1.norm_q.weight", rank: 1)[0]
            : numHeads.map { width / max($0, 1) } ?? 64
        let keyValue = try table.shape("transformer_blocks.0.attn2.to_k.weight", rank: 2)
        let cross = try table.shape("cross_attention_proj.0.weight", rank: 2)
        guard headDim > 0, width % headDim == 0, keyValue[0] % headDim == 0 else {
            throw WeightsError.unrecognizedCheckpoint(
                file: store.sourceName,
                reason: "the hidden width \(width) and key/value width \(keyValue[0]) do not split into heads of "
                    + "\(headDim)" + (numHeads.map { " (num_heads \($0))" } ?? ""))
        }
        let configuration = StableAudioDiTConfig(
            sampleSize: sampleSize, inChannels: projectIn[1], numLayers: try table.count(under: "transformer_blocks."),
            attentionHeadDim: headDim, numAttentionHeads: width / headDim,
            numKeyValueAttentionHeads: keyValue[0] / headDim,
            outChannels: try table.shape("proj_out.weight", rank: 2)[0], crossAttentionDim: cross[0],
            timeProjDim: 2 * (try table.shape("time_proj.weight", rank: 1)[0]),
            globalStatesInputDim: try table.shape("global_proj.0.weight", rank: 2)[1],
            crossAttentionInputDim: cross[1], qkNorm: qkNorm)
        try configuration.validate(source: store.sourceName)
        return configuration
    }
}

extension StableAudioProjectionConfig {
    /// The conditioners' configuration from their tensors: the conditioning width from the seconds-total embedding,
    /// a text projection when `text_projection` is there (else the text encoder's width must be the conditioning
    /// width), and whether there is a seconds-start conditioner; the range is not in the weights.
    static func inferred(from store: any WeightStore, textEncoderDim: Int, minValue: Float, maxValue: Float) throws
        -> StableAudioProjectionConfig
    {
        let table = ShapeTable(store)
        let width = try table.shape("end_number_conditioner.time_positional_embedding.1.weight", rank: 2)[0]
        let projects = table.contains("text_projection.weight")
        if projects {
            let projection = try table.shape("text_projection.weight", rank: 2)
            guard projection[1] == textEncoderDim else {
                throw StableAudioPipelineError.mismatchedParts(
                    folder: store.sourceName,
                    reason: "the prompt projection takes \(projection[1])-wide text; the T5 gives \(textEncoderDim)")
            }
        } else if width != textEncoderDim {
            throw StableAudioPipelineError.mismatchedParts(
                folder: store.sourceName,
                reason: "the conditioning is \(width) wide with no prompt projection; the T5 gives \(textEncoderDim)"
                    + " (Stable Audio Open 1.0 and Small take T5-base, 768)")
        }
        let configuration = StableAudioProjectionConfig(
            textEncoderDim: projects ? textEncoderDim : width, conditioningDim: width, minValue: minValue,
            maxValue: maxValue,
            secondsStart: table.contains("start_number_conditioner.time_positional_embedding.1.weight"))
        try configuration.validate(source: store.sourceName)
        return configuration
    }
}

extension AutoencoderOobleckConfig {
    /// The VAE's configuration from its tensors under the layers' names (`OobleckKeyMap.layerNames`): audio and
    /// latent channels from the decoder's outer convolutions, the strides from each decoder block's transposed
    /// convolution (kernel 2·stride), the widths from their channels. The sample rate is not in the weights.
    static func inferred(from store: any WeightStore, samplingRate: Int) throws -> AutoencoderOobleckConfig {
        let table = ShapeTable(store)
        let output = try table.shape("decoder.conv2.weight", rank: 3)
        let input = try table.shape("decoder.conv1.weight", rank: 3)
        let blocks = try table.count(under: "decoder.block.")
        var strides: [Int] = []
        var widths = [input[0]]
        for index in 0..<blocks {
            let transposed = try table.shape("decoder.block.\(index).conv_t1.weight", rank: 3)
            strides.append(transposed[2] / 2)
            widths.append(transposed[1])
        }
        let channels = output[1]
        guard channels > 0, widths.allSatisfy({ $0 % channels == 0 }) else {
            throw WeightsError.unrecognizedCheckpoint(
                file: store.sourceName, reason: "the decoder's widths \(widths) are not multiples of \(channels)")
        }
        let multiples = widths.reversed().map { $0 / channels }
        let configuration = AutoencoderOobleckConfig(
            encoderHiddenSize: 2 * input[1], downsamplingRatios: strides.reversed(),
            channelMultiples: Array(multiples.dropFirst()), decoderChannels: channels, decoderInputChannels: input[1],
            audioChannels: output[0], samplingRate: samplingRate)
        try configuration.validate(source: store.sourceName)
        return configuration
    }
}
