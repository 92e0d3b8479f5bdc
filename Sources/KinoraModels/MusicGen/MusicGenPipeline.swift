import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// MusicGen from a Hugging Face folder (`facebook/musicgen-small`: `config.json`, `model.safetensors`, the T5
/// tokenizer, `generation_config.json`): the prompt through T5, the decoder's codes (`MusicGenDecoder.generate`, in
/// windows for cues longer than the model's 30 s, `MusicGenWindows`), and EnCodec's decode of them.
///
/// Defaults follow audiocraft (sampling, top-k 250, guidance 3) unless the folder's `generation_config.json` says
/// otherwise; a seed reproduces Kinora's codes (see `MusicGenDecoder.generate` for how sampling draws).
///
/// Each model runs its activations in `precision` (`--precision`), by default in its weights' type as transformers'
/// `torch_dtype` runs the whole checkpoint: T5 (`UMT5EncoderModel+Precision`: with f16 its residual stream, norms and
/// `wo` stay f32), the decoder with its KV cache (`MusicGenDecoder+Precision`) and EnCodec
/// (`EncodecDecoder+Precision`).
public final class MusicGenPipeline {
    public let configuration: MusicGenConfig
    public let tokenizer: T5Tokenizer
    public let textEncoder: UMT5EncoderModel
    public let decoder: MusicGenDecoder
    public let codec: EncodecDecoder
    /// The folder's sampling defaults (`generation_config.json`, else audiocraft's).
    public let defaultSampling: MusicGenSampling
    public let arena: ActivationArena
    /// The activation precision every model runs in; nil: each its weights' type (f32 for facebook/musicgen-*).
    public var precision: ActivationPrecision?
    /// The longest piece one generate call makes (the models were trained on 30 s) and how far each next window
    /// moves (audiocraft's `extend_stride`).
    public var windowSeconds = MusicGenPipeline.defaultWindowSeconds
    public var extendStrideSeconds = MusicGenPipeline.defaultExtendStrideSeconds
    public static let defaultWindowSeconds = 30.0
    public static let defaultExtendStrideSeconds = 18.0
    /// The longest cue made, windows and all.
    public static let maximumSeconds = 600.0
    /// T5's `model_max_length`: longer prompts are cut.
    public static let promptTokens = 512

    /// What one generation asks for.
    public struct Settings: Sendable {
        public var prompt: String
        public var seconds: Double
        public var sampling: MusicGenSampling
        public var seed: UInt64

        public init(
            prompt: String, seconds: Double, sampling: MusicGenSampling = MusicGenSampling(), seed: UInt64 = 0
        ) {
            self.prompt = prompt
            self.seconds = seconds
            self.sampling = sampling
            self.seed = seed
        }
    }

    /// Loads the folder; every part is checked (configuration, tensor shapes, tokenizer) before anything runs.
    public init(folder: URL, device: GPUDevice) throws {
        let config = folder.appending(path: "config.json")
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw MusicGenError.missingFile(folder: folder.path, file: "config.json")
        }
        configuration = try MusicGenConfig.load(from: config)
        let store = try WeightFolder.open(folder)
        let root = DeviceWeights(store: store, device: device)
        decoder = try MusicGenDecoder(
            configuration: configuration.decoder, textWidth: configuration.textEncoder.dModel,
            weights: root.scoped("decoder"), projection: root.scoped("enc_to_dec_proj"))
        textEncoder = try UMT5EncoderModel(
            configuration: configuration.textEncoder,
            weights: DeviceWeights(store: UMT5KeyMap.transformersNames(store), device: device),
            maximumLength: Self.promptTokens)
        codec = try EncodecDecoder(folder: folder, device: device)
        tokenizer = try T5Tokenizer(folder: folder)
        defaultSampling = try Self.sampling(folder.appending(path: "generation_config.json"))
        arena = ActivationArena(device: device)
    }

    /// The frames a cue of `seconds` takes, checked against `maximumSeconds`.
    public func frames(seconds: Double) throws -> Int {
        guard seconds.isFinite, seconds > 0, seconds <= Self.maximumSeconds else {
            throw MusicGenError.invalidSetting(String(
                format: "%g s of music asked; MusicGen makes 0 to %.0f s (in windows of %.0f s)", seconds,
                Self.maximumSeconds, windowSeconds))
        }
        let frames = Int(seconds * configuration.frameRate)
        let least = max(1, configuration.decoder.codebooksPerChannel - 1)
        guard frames >= least else {
            throw MusicGenError.invalidSetting(String(
                format: "%g s is %d code frames; MusicGen's delay pattern needs at least %d (%.3f s)", seconds, frames,
                least, Double(least) / configuration.frameRate))
        }
        return frames
    }

    /// The windows of a cue of `seconds`.
    public func windows(seconds: Double) throws -> MusicGenWindows {
        try MusicGenWindows(
            frames: frames(seconds: seconds), windowFrames: Int(windowSeconds * configuration.frameRate),
            strideFrames: Int(extendStrideSeconds * configuration.frameRate))
    }

    /// The codes [codebook][frame] of a cue: the prompt encoded once, then each window prompted by the one before.
    /// `progress` gets (decoder steps done, steps in all).
    public func codes(_ settings: Settings, progress: (Int, Int) -> Void = { _, _ in }) throws -> [[Int]] {
        try settings.sampling.validate()
        let windows = try windows(seconds: settings.seconds)
        let ids = promptIDs(settings.prompt)
        let states: [Float]
        do {
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            graph.activationDType = textEncoder.activationType(precision)
            states = try graph.run([try textEncoder(graph, inputIDs: [ids])])[0].floats()
        }
        let decoderConfiguration = configuration.decoder
        var codes = [[Int]](repeating: [], count: decoderConfiguration.numCodebooks)
        let steps = windows.windows.map { $0.steps(codebooksPerChannel: decoderConfiguration.codebooksPerChannel) }
        let total = steps.reduce(0, +)
        var done = 0
        for (index, window) in windows.windows.enumerated() {
            let prompt = window.promptFrames == 0 ? [] : codes.map { Array($0.suffix(window.promptFrames)) }
            let pattern = try MusicGenDelayPattern(
                codebooks: decoderConfiguration.numCodebooks, audioChannels: decoderConfiguration.audioChannels,
                frames: window.frames, pad: decoderConfiguration.padTokenID, prompt: prompt)
            let made = try decoder.generate(
                .init(textStates: states, textMask: ids.map { _ in 1 }, pattern: pattern, sampling: settings.sampling,
                      seed: settings.seed &+ UInt64(index), precision: precision),
                arena: arena, progress: { step, _ in progress(done + step, total) })
            done += steps[index]
            arena.trim()
            for codebook in codes.indices { codes[codebook] += made[codebook].dropFirst(window.promptFrames) }
        }
        return codes
    }

    /// The prompt's token ids as transformers' processor makes them for one prompt: unpadded, cut to T5's longest
    /// keeping the start, `</s>` last.
    func promptIDs(_ prompt: String) -> [Int] {
        let encoding = tokenizer.encode(prompt, maximumLength: Self.promptTokens)
        return Array(encoding.ids.prefix(encoding.length))
    }

    /// A cue: its codes, then EnCodec's audio of them (a stereo model's codebooks alternate left and right and
    /// decode as two channels).
    public func generate(_ settings: Settings, progress: (Int, Int) -> Void = { _, _ in }) throws -> GeneratedAudio {
        let codes = try codes(settings, progress: progress)
        defer { arena.trim() }
        let channels = configuration.decoder.audioChannels
        var samples: [Float] = []
        for channel in 0..<channels {
            let own = stride(from: channel, to: codes.count, by: channels).map { codes[$0] }
            samples += try codec.decode(codes: own, arena: arena, precision: precision)
        }
        return GeneratedAudio(channels: channels, sampleRate: configuration.samplingRate, samples: samples)
    }

    /// The folder's sampling defaults: `do_sample`, `guidance_scale`, `top_k`, `top_p`, `temperature`.
    static func sampling(_ url: URL) throws -> MusicGenSampling {
        var sampling = MusicGenSampling()
        guard FileManager.default.fileExists(atPath: url.path) else { return sampling }
        struct Generation: Decodable {
            var doSample: Bool?
            var guidanceScale: Float?
            var topK: Int?
            var topP: Float?
            var temperature: Float?
            enum CodingKeys: String, CodingKey {
                case doSample = "do_sample", guidanceScale = "guidance_scale", topK = "top_k", topP = "top_p"
                case temperature
            }
        }
        let generation = try ConfigurationJSON.decode(Generation.self, from: url) {
            MusicGenError.invalidConfiguration(file: url.path, reason: $0)
        }
        sampling.sample = generation.doSample ?? sampling.sample
        sampling.guidanceScale = generation.guidanceScale ?? sampling.guidanceScale
        sampling.topK = generation.topK ?? sampling.topK
        sampling.topP = generation.topP ?? sampling.topP
        sampling.temperature = generation.temperature ?? sampling.temperature
        try sampling.validate()
        return sampling
    }
}
