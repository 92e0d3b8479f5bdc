import ArgumentParser
import Foundation
import KinoraMedia
import KinoraModels

/// `kinora image`: text to image (or image to image) with a Stable Diffusion 1.x/2.x/SDXL diffusers folder or
/// A1111/ComfyUI single-file checkpoint.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Generate an image with Stable Diffusion 1.x, 2.x or SDXL.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(name: .long, help: ArgumentHelp(
        "A diffusers model folder (with model_index.json) or a single-file checkpoint (A1111/ComfyUI .safetensors, "
            + "or a pickled .ckpt read without running it).",
        discussion: "A single file's configuration is inferred from its tensor shapes and its family (SD 1.x, 2.x, "
            + "SDXL); it carries no tokenizer (see --tokenizer)."))
    var model: String

    @Option(name: .long, help: ArgumentHelp(
        "Single files: a tokenizer folder (vocab.json, merges.txt) or CLIP's bpe_simple_vocab_16e6.txt.",
        discussion: "Default: the --config folder's tokenizer, else $KINORA_CLIP_BPE, else "
            + "/opt/kinora/clip/bpe_simple_vocab_16e6.txt (installed by scripts/setup.sh)."))
    var tokenizer: String?

    @Option(name: .long, help: ArgumentHelp(
        "Single files: a diffusers folder whose component config.json files replace the inferred ones.",
        discussion: "As diffusers' from_single_file(config=...): unet/, vae/, text_encoder*/ config.json, "
            + "scheduler/scheduler_config.json and tokenizer*/ are used where present."))
    var config: String?

    @Option(name: .long, help: ArgumentHelp(
        "Single files: what the UNet predicts, eps or v.",
        discussion: "Default: v when the file has ComfyUI's v_pred marker or is SD 2.x, else eps."))
    var prediction: PredictionOption?

    @Option(name: .long, help: ArgumentHelp(
        "A LoRA file to merge into the model, with an optional strength (default 1); repeat for several.",
        discussion: "kohya (lora_unet_/lora_te_), diffusers/PEFT (lora_A/lora_B) and ComfyUI (diffusion_model.) "
            + "layouts, e.g. --lora style.safetensors:0.8. A key that fits no weight of the model is an error.",
        valueName: "file[:strength]"))
    var lora: [LoRAArgument] = []

    @Option(name: .long, help: "What to draw.")
    var prompt: String

    @Option(name: .long, help: "What to steer away from.")
    var negative = ""

    @Option(name: .customLong("prompt-syntax"), help: ArgumentHelp(
        "How prompts are read: plain (as diffusers, the default) or a1111.",
        discussion: "plain passes the text as written and keeps its first 75 tokens, as diffusers does; the same "
            + "seed gives diffusers' image. a1111 reads (word:1.3) emphasis, [word], BREAK, and longer prompts in "
            + "further 75-token windows, as A1111 and ComfyUI do."))
    var promptSyntax: PromptSyntax = .default

    @Option(name: .long, help: "Sampling steps.")
    var steps = 20

    @Option(name: .long, help: "Classifier-free guidance scale (1 turns guidance off).")
    var cfg: Float = 7.5

    @Option(name: .long, help: "Sampler: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var sampler: SamplerKind = .euler

    @Option(name: .long, help: "Seed; the same seed gives diffusers' image for the same settings.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Width in pixels (default: the model's native size or the initial image's).")
    var width: Int?

    @Option(name: .long, help: "Height in pixels (default: the model's native size or the initial image's).")
    var height: Int?

    @Option(name: .long, help: "diffusers clip_skip: text-encoder layers to skip (A1111's Clip skip minus 1).")
    var clipSkip: Int?

    @Option(name: .customLong("init-image"), help: "An image to start from (image to image).")
    var initImage: String?

    @Option(name: .long, help: "Image to image: share of the schedule to run (0...1).")
    var strength = 0.75

    @Option(name: .customLong("vae-tiling"), help: "auto (tile when the decode would not fit), on, or off.")
    var vaeTiling: TilingOption = .auto

    @Option(name: .customLong("stream-weights"),
            help: "Stream the UNet's weights block by block: auto (only when resident does not fit), on, or off.")
    var streamWeights: WeightStreaming = .auto

    @Option(name: .long, help: ArgumentHelp(
        "Activation precision: fp32, fp16 or bf16 (default: the weights' type, as diffusers' torch_dtype).",
        discussion: "Activations are stored in it and computed in fp32 inside every kernel. The timestep "
            + "sinusoids, the sampler and the latents between steps stay fp32; SDXL's VAE runs fp32 where it would "
            + "run fp16, as diffusers' SDXL pipeline upcasts it."))
    var precision: ActivationPrecision?

    @Option(name: .shortAndLong, help: "The PNG, JPEG or WebP to write.")
    var output: String

    @Flag(name: .long, help: ArgumentHelp(
        "Print the device and the seconds of each step and of the decode on standard error.",
        discussion: "Step 1 counts from the start of the generation, so it includes encoding the prompt and uploading "
            + "the UNet's weights; the decode counts from the end of the last step and includes uploading the VAE's "
            + "(scripts/bench-sdcpp.sh reads these lines)."))
    var timings = false

    @Flag(name: .long, help: ArgumentHelp(
        "Time every GPU dispatch and print the time spent in each kernel on standard error.",
        discussion: "Timestamp queries bracket each dispatch, so a profiled run is slower; the table sums the whole "
            + "run (prompt encoding, every step and the decode) by kernel variant and op, largest first."))
    var profile = false

    enum PredictionOption: String, ExpressibleByArgument {
        case eps, v

        var type: PredictionType { self == .v ? .vPrediction : .epsilon }
    }

    enum TilingOption: String, ExpressibleByArgument {
        case auto, on, off

        var tiling: AutoencoderKL.Tiling {
            switch self {
            case .auto: return .auto
            case .on: return .on
            case .off: return .off
            }
        }
    }

    func run() throws {
        let device = try deviceOptions.open()
        device.profile.isEnabled = profile
        let pipeline = try StableDiffusionPipeline(components: components().applying(lora.map(\.adapter)),
                                                   device: device, precision: precision)
        var settings = GenerationSettings(prompt: prompt)
        settings.negativePrompt = negative
        settings.promptSyntax = promptSyntax
        settings.steps = steps
        settings.guidanceScale = cfg
        settings.sampler = sampler
        settings.seed = seed
        settings.clipSkip = clipSkip
        settings.vaeTiling = vaeTiling.tiling
        settings.unetWeightStreaming = streamWeights
        settings.strength = strength

        var initial: [Float]?
        if let initImage {
            guard let frame = try VideoReader(url: URL(filePath: initImage)).nextFrame() else {
                throw ValidationError("\(initImage) holds no picture")
            }
            if (width ?? frame.width) != frame.width || (height ?? frame.height) != frame.height {
                throw ValidationError("--init-image is \(frame.width)×\(frame.height); resize it or leave out "
                    + "--width/--height")
            }
            settings.width = frame.width
            settings.height = frame.height
            initial = Self.planar(frame)
        } else {
            settings.width = width ?? pipeline.nativeSize
            settings.height = height ?? pipeline.nativeSize
        }

        for warning in Self.truncationWarnings(pipeline.droppedPromptTokens(settings)) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        let bar = ProgressBar(label: "denoising")
        if timings { Self.note("device: \(device.physical.name)") }
        var mark = Date()
        let image = try pipeline.generate(settings, initImage: initial) { step in
            bar.update(step.step, of: step.steps)
            if timings {
                Self.note(String(format: "step %d/%d: %.3f s", step.step, step.steps, -mark.timeIntervalSinceNow))
                mark = Date()
            }
        }
        bar.finish()
        if timings { Self.note(String(format: "decode: %.3f s", -mark.timeIntervalSinceNow)) }
        if profile { FileHandle.standardError.write(Data(device.profile.report().utf8)) }
        let broken = image.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
        guard broken == 0 else {
            throw PipelineError.nonFinite(count: broken, total: image.count, model: model)
        }
        let frame = try VideoFrame(width: settings.width, height: settings.height,
                                   rgbFloat: Self.interleaved(image, width: settings.width, height: settings.height))
        try StillImageWriter.write(frame, to: URL(filePath: output),
                                   metadata: Self.metadata(settings, model: model, initImage: initImage,
                                                           loras: lora.map(\.adapter),
                                                           precision: pipeline.precision.unet))
        let summary = "wrote \(output) (\(settings.width)×\(settings.height), seed \(seed))\n"
        FileHandle.standardError.write(Data(summary.utf8))
    }

    /// The model's components: a diffusers folder, or a single file with the single-file options.
    func components() throws -> StableDiffusionComponents {
        let url = URL(filePath: model)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ValidationError("--model \(model) does not exist")
        }
        if isDirectory.boolValue {
            if tokenizer != nil || config != nil || prediction != nil {
                throw ValidationError("--tokenizer, --config and --prediction apply to single-file checkpoints; "
                    + "\(model) is a diffusers folder")
            }
            return try StableDiffusionComponents(folder: url)
        }
        let options = SingleFileOptions(tokenizer: tokenizer.map { URL(filePath: $0) },
                                        configuration: config.map { URL(filePath: $0) },
                                        prediction: prediction?.type)
        return try StableDiffusionComponents(singleFile: url, options: options)
    }

    /// Writes one line to standard error.
    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// What to tell the user when the plain syntax drops tokens, as diffusers warns when it truncates.
    static func truncationWarnings(_ dropped: (prompt: Int, negative: Int)) -> [String] {
        [("--prompt", dropped.prompt), ("--negative", dropped.negative)].filter { $0.1 > 0 }.map {
            "\($0.0) is longer than CLIP's 75 tokens; its last \($0.1) are dropped, as diffusers drops them "
                + "(--prompt-syntax a1111 encodes them in further windows)"
        }
    }

    /// The settings in the PNG's text chunks: A1111's `parameters` line (which image tools read) and Kinora's JSON.
    /// LoRAs are written as A1111 writes them, `<lora:NAME:STRENGTH>` at the end of the prompt (NAME the file's name
    /// without its extension, as A1111 looks it up in its LoRA folder), so A1111, ComfyUI's and Civitai's readers
    /// take the adapters back with their strengths; the JSON lists each file's name and strength under `loras`.
    /// `precision` (the UNet's activation precision) is written as the JSON's `precision`.
    static func metadata(_ settings: GenerationSettings, model: String, initImage: String?,
                         loras: [LoRAAdapter] = [], precision: ActivationPrecision? = nil) -> [String: String] {
        var parameters = settings.prompt
        for lora in loras {
            parameters += " <lora:\(lora.url.deletingPathExtension().lastPathComponent):\(lora.strength)>"
        }
        if !settings.negativePrompt.isEmpty { parameters += "\nNegative prompt: \(settings.negativePrompt)" }
        parameters += "\nSteps: \(settings.steps), Sampler: \(settings.sampler.rawValue), CFG scale: "
            + "\(settings.guidanceScale), Seed: \(settings.seed), Size: \(settings.width)x\(settings.height), "
            + "Model: \(URL(filePath: model).lastPathComponent)"
        if let clipSkip = settings.clipSkip { parameters += ", Clip skip: \(clipSkip + 1)" }
        parameters += ", Prompt syntax: \(settings.promptSyntax.rawValue)"
        if let initImage { parameters += ", Init image: \(initImage), Denoising strength: \(settings.strength)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = (try? encoder.encode(ImageMetadata(settings: settings, loras: loras, precision: precision)))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ["parameters": parameters, "kinora": json, "Software": "kinora"]
    }

    static func planar(_ frame: VideoFrame) -> [Float] {
        let rgb = frame.rgb8
        let pixels = frame.width * frame.height
        var planar = [Float](repeating: 0, count: 3 * pixels)
        for pixel in 0..<pixels {
            for channel in 0..<3 { planar[channel * pixels + pixel] = Float(rgb[pixel * 3 + channel]) / 255 }
        }
        return planar
    }

    static func interleaved(_ planar: [Float], width: Int, height: Int) -> [Float] {
        let pixels = width * height
        var rgb = [Float](repeating: 0, count: 3 * pixels)
        for pixel in 0..<pixels {
            for channel in 0..<3 { rgb[pixel * 3 + channel] = planar[channel * pixels + pixel] }
        }
        return rgb
    }
}

extension SamplerKind: ExpressibleByArgument {}

extension PromptSyntax: ExpressibleByArgument {}

extension WeightStreaming: ExpressibleByArgument {}
