import ArgumentParser
import Foundation
import KinoraGPU
import KinoraMedia
import KinoraModels
import KinoraPipeline
import KinoraTensor

/// `kinora video`: text to video with Wan 2.1 T2V, text or a keyframe to video with Wan 2.2 TI2V. Frames go to the
/// encoder as the VAE decodes them, so no clip is held; the file appears under its name only when it is complete.
struct VideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video", abstract: "Generate a video with Wan 2.1 T2V or Wan 2.2 TI2V.",
        discussion: """
            The same settings and seed give diffusers' WanPipeline video (WanImageToVideoPipeline with \
            expand_timesteps for --image). Defaults follow the model: 832x480, 81 frames at 16 fps for Wan 2.1; \
            1280x704, 121 frames at 24 fps for Wan 2.2 TI2V; 50 steps, guidance 5, the folder's scheduler.
            """)

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var modelArguments: VideoModelArguments

    @Option(name: .long, help: "What to film.")
    var prompt: String

    @Option(name: .long, help: "What to steer away from (diffusers' default is empty).")
    var negative = ""

    @Option(name: .long, help: ArgumentHelp(
        "A keyframe (PNG, JPEG, WebP) to start from: image to video, Wan 2.2 TI2V only.",
        discussion: "It must have the video's aspect ratio and size; without --size the video takes its size."))
    var image: String?

    @Option(name: .long, help: "Frames, of the form 4k + 1 (default: the model's, 81 or 121).")
    var frames: Int?

    @Option(name: .long, help: "Width x height, such as 832x480 (default: the model's, or the keyframe's).")
    var size: String?

    @Option(name: .long, help: "Frame rate: 16, 24 or a fraction such as 24000/1001 (default: 16; Wan 2.2: 24).")
    var fps: String?

    @Option(name: .long, help: "Denoising steps.")
    var steps = 50

    @Option(name: .long, help: "Classifier-free guidance scale (1 or less turns guidance off).")
    var cfg: Float = 5

    @Option(name: .long, help: "Flow shift (default: the scheduler's, 3 for Wan 2.1 1.3B, 5 for Wan 2.2 TI2V).")
    var shift: Double?

    @Option(name: .long, help: "Sampler: unipc or euler (default: the folder's scheduler, else unipc).")
    var sampler: FlowSamplerKind?

    @Option(name: .long, help: "Seed; the same seed gives diffusers' video for the same settings.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Video codec: h264, h265, av1, prores or ffv1 (lossless).")
    var codec = "h264"

    @Option(name: .long, help: "Constant rate factor of the video encoder (lower is better quality).")
    var crf: Int?

    @Option(name: .customLong("vae-tiling"), help: ArgumentHelp(
        "Decode each frame in tiles: auto (when a whole frame would not fit), on (diffusers' tiles), or off."))
    var vaeTiling: ImageCommand.TilingOption = .auto

    @Option(name: .customLong("stream-weights"), help: ArgumentHelp(
        "Stream the transformer's weights block by block: auto, on or off.",
        discussion: "auto streams when the transformer's weights take more than half of the memory budget. The "
            + "text encoder always streams layer by layer, except with off."))
    var streamWeights: WeightStreaming = .auto

    @Flag(name: .long, help: ArgumentHelp(
        "Generate chunk by chunk with a causal, KV-cached model (Self-Forcing, CausVid): frames stream out as each "
            + "chunk is made.",
        discussion: "No guidance (the models are distilled); --steps, --cfg, --shift and --sampler do not apply."))
    var autoregressive = false

    @Option(name: .long, help: "Autoregressive: the few-step schedule, self-forcing (4 steps) or causvid (3).")
    var schedule: AutoregressiveSchedule = .selfForcing

    @Option(name: .customLong("chunk-frames"), help: "Autoregressive: latent frames per chunk (the model's, 3).")
    var chunkFrames = 3

    @Option(name: .long, help: "Autoregressive: the video's length in seconds, instead of --frames.")
    var seconds: Double?

    @Option(name: .customLong("prompt-at"), help: ArgumentHelp(
        "Autoregressive: switch to another prompt from this time on, as SECONDS:TEXT; repeatable.",
        discussion: "--prompt holds from 0 s; SECONDS is more than 0. At a switch the frames in the KV cache are run "
            + "again with the new prompt (LongLive's re-cache), so the picture carries on and follows the new text; "
            + "switches take effect at the first chunk that starts at or after their time.",
        valueName: "seconds:text"))
    var promptAt: [PromptSwitch] = []

    /// One entry of `--prompt-at`.
    struct PromptSwitch: ExpressibleByArgument {
        var seconds: Double
        var text: String

        init?(argument: String) {
            guard let colon = argument.firstIndex(of: ":"), let seconds = Double(argument[..<colon]),
                seconds.isFinite, seconds > 0
            else { return nil }
            let text = String(argument[argument.index(after: colon)...])
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            (self.seconds, self.text) = (seconds, text)
        }
    }

    @Option(name: .long, help: ArgumentHelp(
        "Autoregressive: a rolling window of this many latent frames that a chunk attends to (its own included), "
            + "for streams of any length at constant memory.",
        discussion: "The first --sink frames stay in it for good; the oldest others are dropped as the stream goes "
            + "on. At most 21 (what the models were trained on); without it every frame stays while the stream is "
            + "21 latent frames or less (81 frames), and longer streams get a window of 21 with a sink of a chunk."))
    var window: Int?

    @Option(name: .long, help: "Autoregressive: latent frames of the start kept in the window (default: a chunk).")
    var sink: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Autoregressive: also write this live video as frames come, which a player can open while the stream renders.",
        discussion: "H.264 in a fragmented MP4 (or MOV, MKV, WebM by its extension), written straight under its "
            + "name and removed if the render fails; the output itself appears only when complete."))
    var preview: String?

    @Option(name: .customLong("kv-cache"), help: ArgumentHelp(
        "Autoregressive: how the KV cache stores keys and values: f16 (half the memory), bf16 (as Self-Forcing), "
            + "or f32 (default: the activations' type); the VAE decoder's feature cache is f16 with either 16-bit "
            + "kind, else f32."))
    var kvCache: CacheStorage?

    @Option(name: .long, help: ArgumentHelp(
        "The activations' type: fp32, fp16 or bf16 (default: the weights' type, as diffusers' torch_dtype; the VAE "
            + "f32).",
        discussion: "Arithmetic is f32 in every kernel; the time embedding and the modulation stay f32, as in Wan's "
            + "reference, and so do UMT5's residual stream and wo with fp16, as in transformers."))
    var precision: ActivationPrecision?

    enum CacheStorage: String, ExpressibleByArgument {
        case f32, f16, bf16

        var dtype: DType { self == .f32 ? .f32 : self == .f16 ? .f16 : .bf16 }
    }

    @Option(name: .shortAndLong, help: "The video to write (.mp4, .mov, .mkv or .webm).")
    var output: String

    /// The most frames one clip may ask for: about two minutes at 16 fps, far past what Wan was trained for (5 s);
    /// longer videos are the autoregressive models' work.
    static let maximumFrames = 2001
    /// The longest side, in pixels.
    static let maximumSide = 4096

    func validate() throws {
        if let frames, !(1...Self.maximumFrames).contains(frames) {
            throw ValidationError("--frames must be 1...\(Self.maximumFrames), got \(frames)")
        }
        if let size, let parsed = ImageSize(parsing: size),
            !(1...Self.maximumSide).contains(parsed.width) || !(1...Self.maximumSide).contains(parsed.height)
        {
            throw ValidationError("--size sides must be 1...\(Self.maximumSide) pixels, got \(size)")
        }
        if let shift, !(shift.isFinite && shift > 0) { throw ValidationError("--shift must be positive, got \(shift)") }
        if let size, ImageSize(parsing: size) == nil {
            throw ValidationError("--size \(size) is not a size such as 832x480")
        }
        guard cfg.isFinite else { throw ValidationError("--cfg must be a finite number, got \(cfg)") }
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1...1000, got \(steps)") }
        if !autoregressive, seconds != nil { throw ValidationError("--seconds applies with --autoregressive") }
        if let seconds, !(seconds.isFinite && seconds > 0 && seconds <= 3600) {
            throw ValidationError("--seconds must be more than 0 and at most 3600, got \(seconds)")
        }
        if seconds != nil, frames != nil { throw ValidationError("give --seconds or --frames, not both") }
        if !autoregressive, !promptAt.isEmpty { throw ValidationError("--prompt-at applies with --autoregressive") }
        if !autoregressive, preview != nil { throw ValidationError("--preview applies with --autoregressive") }
        if let preview, URL(fileURLWithPath: preview).standardizedFileURL == URL(fileURLWithPath: output)
            .standardizedFileURL
        {
            throw ValidationError("--preview must be another file than the output")
        }
        if !autoregressive, window != nil || sink != nil {
            throw ValidationError("--window and --sink apply with --autoregressive")
        }
        if sink != nil, window == nil { throw ValidationError("--sink needs --window") }
        if let window, window <= chunkFrames {
            throw ValidationError("--window \(window) must be longer than a chunk (--chunk-frames \(chunkFrames))")
        }
        if let reason = window.flatMap(WanAttentionWindow.untrained) { throw ValidationError("--window: \(reason)") }
        guard (1...16).contains(chunkFrames) else {
            throw ValidationError("--chunk-frames must be 1...16, got \(chunkFrames)")
        }
    }

    /// The autoregressive models' schedules.
    enum AutoregressiveSchedule: String, ExpressibleByArgument {
        case selfForcing = "self-forcing"
        case causVid = "causvid"

        var schedule: CausalDenoisingSchedule { self == .selfForcing ? .selfForcing : .causVid }
    }

    func run() throws {
        let started = Date()
        // Everything that can be checked without the model is checked first: nothing is loaded for a bad request.
        let outputURL = URL(fileURLWithPath: output)
        _ = try VideoContainer(for: outputURL)
        let videoCodec = try VideoCodec(parsing: codec)
        _ = try AtomicOutput(outputURL)
        let requestedRate = try fps.map(FrameRate.init(parsing:))
        if let requestedRate {
            try ValueBounds.check(
                requestedRate.framesPerSecond, "--fps", in: ValueBounds.framesPerSecond, unit: "frames per second")
        }
        let keyframe = try image.map(Self.readKeyframe)
        var components = try modelArguments.components()
        if let shift {
            components.scheduler.flowShift = shift
            components.scheduler.shift = shift
        }

        let device = try deviceOptions.open()
        // The parts are opened once: the memory plan and the pipeline both work from them.
        let parts = try components.stageComponents(name: URL(fileURLWithPath: modelArguments.model).lastPathComponent)
        let pipeline = try components.load(parts, device: device)
        pipeline.precision = precision
        if autoregressive {
            return try runAutoregressive(
                pipeline, parts: parts, keyframe: keyframe, outputURL: outputURL, codec: videoCodec,
                fps: requestedRate)
        }
        let secondGeneration = pipeline.expandTimesteps
        let frameRate = try requestedRate ?? FrameRate(secondGeneration ? 24 : 16)
        let videoSize = size.flatMap(ImageSize.init(parsing:))
            ?? keyframe.map { ImageSize(width: $0.width, height: $0.height) }
            ?? (secondGeneration ? ImageSize(width: 1280, height: 704) : ImageSize(width: 832, height: 480))
        var settings = WanVideoSettings(
            prompt: prompt, negativePrompt: negative, width: videoSize.width, height: videoSize.height,
            frames: frames ?? (secondGeneration ? 121 : 81), steps: steps, guidanceScale: cfg, seed: seed,
            sampler: sampler ?? FlowSamplerKind(className: components.scheduler.className ?? "") ?? .unipc)
        settings.vaeTiling = vaeTiling.tiling
        // The request against the model, before any work: frames, size, steps, guidance, the keyframe.
        let latentShape = try pipeline.latentShape(settings)
        if let keyframe { try pipeline.validate(keyframe, for: settings) }
        // The memory plan: each stage's peak from its own graphs, with the tactics that fit the budget; a request
        // that cannot fit, or needs a buffer larger than the device makes, is refused here, naming the stage.
        let plan = try WanMemoryPlanner.plan(
            parts,
            WanGenerationRequest(
                width: settings.width, height: settings.height, frames: settings.frames,
                guidance: settings.usesGuidance, imageToVideo: keyframe != nil, precision: precision),
            device: device)
        try plan.checkBudget()
        try plan.checkDeviceBuffers()
        switch streamWeights {
        case .on: (settings.streamedTextEncoder, settings.streamedTransformer) = (true, true)
        case .off: (settings.streamedTextEncoder, settings.streamedTransformer) = (false, false)
        case .auto: (settings.streamedTextEncoder, settings.streamedTransformer) = (true, plan.streamedTransformer)
        }
        let tiles = try vaeTiling == .auto
            ? plan.tiles : pipeline.decodeTiles(shape: latentShape, tiling: settings.vaeTiling)
        if let peak = plan.peakStage {
            FileHandle.standardError.write(Data(
                ("plan: peak \(ByteCount(peak.peakBytes)) at the \(peak.stage.rawValue) stage of a "
                    + "\(ByteCount(plan.budget)) budget\n").utf8))
        }

        let metadata = Self.metadata(
            settings, model: modelArguments.model, scheduler: pipeline.scheduler, image: image, fps: frameRate)
        let writer = try VideoWriter(
            url: outputURL,
            settings: VideoSettings(codec: videoCodec, frameRate: frameRate, crf: crf, metadata: metadata))
        FileHandle.standardError.write(Data(
            ("Wan \(secondGeneration ? "2.2 TI2V" : "2.1 T2V") on \(device.physical.name): \(settings.frames) frames "
                + "of \(settings.width)x\(settings.height), latents \(latentShape), \(settings.steps) steps "
                + "(\(settings.sampler.rawValue)), guidance \(settings.guidanceScale), "
                + "\(pipeline.transformer.activationType(precision)) activations"
                + (settings.streamedTransformer ? ", transformer streamed" : "")
                + (tiles.map { ", decoded in tiles of \($0.sampleWidth)x\($0.sampleHeight) px" } ?? "") + "\n").utf8))

        let encodeStarted = Date()
        let conditioning = try pipeline.encodePrompts(settings)
        let condition = try keyframe.map { try pipeline.imageCondition($0, settings: settings) }
        FileHandle.standardError.write(Data(String(
            format: "text encoded in %.1f s\n", Date().timeIntervalSince(encodeStarted)).utf8))
        let denoiseStarted = Date()
        let denoising = ProgressBar(label: "denoising")
        let latents = try pipeline.denoise(settings, conditioning: conditioning, imageCondition: condition) {
            denoising.update($0.step, of: $0.steps)
        }
        denoising.finish()
        let denoiseSeconds = Date().timeIntervalSince(denoiseStarted)
        FileHandle.standardError.write(Data(String(
            format: "denoised in %.2f s (%.3f s per step)\n", denoiseSeconds, denoiseSeconds / Double(settings.steps))
            .utf8))
        let broken = latents.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
        guard broken == 0 else {
            throw PipelineError.nonFinite(count: broken, total: latents.count, model: modelArguments.model)
        }
        pipeline.releaseDenoisingWeights()
        let decodeStarted = Date()
        let decoding = ProgressBar(label: "decoding")
        try pipeline.decode(latents, shape: latentShape, tiles: tiles) { chunk in
            for frame in try Self.videoFrames(chunk) { try writer.append(frame: frame) }
            decoding.update(chunk.start + chunk.count, of: settings.frames)
        }
        decoding.finish()
        let decodeSeconds = Date().timeIntervalSince(decodeStarted)
        FileHandle.standardError.write(Data(String(
            format: "decoded %d frames in %.2f s (%.3f s per frame)\n", settings.frames, decodeSeconds,
            decodeSeconds / Double(settings.frames)).utf8))
        try writer.finish()
        FileHandle.standardError.write(Data(String(
            format: "wrote %@ (%d frames, %dx%d, %@ fps, seed %llu) in %.1f s\n", output, writer.frameCount,
            settings.width, settings.height, frameRate.description, seed, Date().timeIntervalSince(started)).utf8))
    }

    /// The decoder's frames as the encoder takes them.
    static func videoFrames(_ chunk: WanVideoFrames) throws -> [VideoFrame] {
        let plane = chunk.width * chunk.height * 3
        return try (0..<chunk.count).map { index in
            try VideoFrame(
                width: chunk.width, height: chunk.height,
                rgbFloat: Array(chunk.rgb[(index * plane)..<((index + 1) * plane)]))
        }
    }

    /// The keyframe as the pipeline takes it: 8-bit RGB / 255.
    static func readKeyframe(_ path: String) throws -> WanVideoImage {
        let url = URL(fileURLWithPath: path)
        try InputFile.requireRegular(url)
        let info = try MediaInfo(probing: url)
        guard let stream = info.first("video") else {
            throw Kinora.Failure(description: "--image \(path) holds no picture")
        }
        try PlanarRGB.requireEightBitRGB(stream, of: path, reader: "the keyframe encoding")
        guard let frame = try VideoReader(url: url).nextFrame() else {
            throw Kinora.Failure(description: "--image \(path) holds no picture")
        }
        return WanVideoImage(width: frame.width, height: frame.height, rgb: frame.rgb8.map { Float($0) / 255 })
    }

    /// The settings in the file's `comment` tag, as JSON.
    static func metadata(
        _ settings: WanVideoSettings, model: String, scheduler: SchedulerConfiguration, image: String?, fps: FrameRate
    ) -> [String: String] {
        var fields: [String: String] = [
            "prompt": settings.prompt, "negative_prompt": settings.negativePrompt, "seed": "\(settings.seed)",
            "steps": "\(settings.steps)", "guidance_scale": "\(settings.guidanceScale)",
            "sampler": settings.sampler.rawValue, "frames": "\(settings.frames)",
            "size": "\(settings.width)x\(settings.height)", "fps": fps.description,
            "model": URL(fileURLWithPath: model).lastPathComponent,
        ]
        if let shift = scheduler.flowShift ?? scheduler.shift { fields["shift"] = "\(shift)" }
        if let image { fields["image"] = URL(fileURLWithPath: image).lastPathComponent }
        return ["comment": UpscaleCommand.json(fields)]
    }
}

extension FlowSamplerKind: ExpressibleByArgument {}
