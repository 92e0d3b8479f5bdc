import ArgumentParser
import Foundation
import KinoraGPU
import KinoraModels
import KinoraPipeline
import KinoraTensor

/// `kinora bench model`: device memory of a full-size checkpoint architecture (random weights, nothing downloaded),
/// predicted per stage, and with `--run` one UNet step and one VAE decode timed and their peaks measured; for the Wan
/// video models (`ModelBenchCommand+Wan.swift`) every stage of a clip. With `--catalog-figures`, the activation
/// figures of a catalog family measured over several sizes instead.
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Predict (and with --run measure) memory and speed of SD 1.5, SD 2.x, SDXL, Wan 2.1 1.3B or Wan 2.2 "
            + "5B (clips, or autoregressive streams with -ar) with random weights.",
        discussion: """
            wan21-1.3b and wan22-5b plan a video of --size WIDTHxHEIGHT and --frames (default 832x480, 81 frames \
            and 1280x704, 121 frames) stage by stage: text encoding (UMT5-XXL streamed layer by layer), the keyframe \
            encode (wan22-5b), denoising (the DiT resident, or streamed block by block when that does not fit), the \
            streamed decode (tiled when whole frames do not fit), against the device's budget or --vram; the catalog \
            families tiny-wan21 and tiny-wan22 plan their committed weights (or --weights). With --run every stage \
            runs once at that size, timed, with the allocator's peak beside the planned one.

            wan21-1.3b-ar (Self-Forcing, CausVid, LongLive: the causal Wan 2.1 1.3B), wan22-5b-ar, tiny-wan21-ar and \
            tiny-wan22-ar plan an autoregressive stream of --seconds (default 10) at --size: its peak with the KV \
            cache in f32 and f16 and with every frame cached or rolling windows of 21, 12 and 6 latent frames (or \
            --window, --sink), then the chosen one (--kv-cache, --window; by default the activations' type, \
            --precision, and past 21 latent frames a window of 21) stage by stage. With --run the stream runs \
            --chunks chunks (default: until the KV cache is at its largest): time to the first frame, seconds per \
            chunk, frames per second and the allocator's peak.

            With --catalog-figures, measures the activation figures of a catalog family (models/*.yaml) instead: \
            sd15, sd2 and sdxl over random weights, tiny-sd15 and tiny-sdxl over their committed weights, piper-vits \
            over the installed voice (found as the catalog finds them, or at --weights), the Wan families over random \
            or their committed weights. Each stage is measured at every --sizes (image families; default: three \
            sizes up to the native one; Wan families: two sizes up to the default one) and the figure printed is the \
            largest bytes per unit over them. The upscaler families (realesr-animevideov3, realesrgan-x4plus, \
            realesrgan-x4plus-anime) upscale random pictures of each --sizes (default 256 and 1024; 128 and 256 for \
            the RRDBNet ones) with the installed models and the tiles `kinora upscale` picks; rife interpolates \
            random 416x240 and 832x480 frame pairs (one and four frames between), or squares of --sizes. Both print \
            the allocator's whole peak of each run. Every family but piper-vits is measured in --precision (default: \
            the weights' type, as the models run by default). scripts/measure-catalog.sh runs it for every family.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(
        help: ArgumentHelp(
            "sd15, sd2, sdxl, wan21-1.3b or wan22-5b; tiny-wan21 or tiny-wan22; with --catalog-figures also a "
                + "family: tiny-sd15, tiny-sdxl, piper-vits, wan21-t2v-1.3b, wan22-ti2v-5b, realesr-animevideov3, "
                + "realesrgan-x4plus, realesrgan-x4plus-anime, rife."))
    var model: String

    @Option(
        name: .long,
        help: "Image edge in pixels, a multiple of 8 (default: the model's native size); Wan: WIDTHxHEIGHT.")
    var size: String?

    @Option(name: .long, help: "Wan: frames of the clip, 4k + 1 (default: the model's).")
    var frames: Int?

    @Option(name: .customLong("prompt-tokens"), help: "Wan: tokens of each prompt the text encoder runs over.")
    var promptTokens = 512

    @Option(
        name: .long,
        help: "Sampling steps, for the whole-generation time extrapolated from one step (default: 30; Wan: 50).")
    var steps: Int?

    @Flag(name: .customLong("run"),
          help: "Also run one UNet step and one VAE decode (Wan: every stage), timed, with the allocator's peak.")
    var runStages = false

    @Flag(name: .customLong("stream-weights"),
          help: "Plan (and with --run, run) the UNet with its weights streamed block by block.")
    var streamWeights = false

    @Option(name: .long, help: ArgumentHelp(
        "Activation precision: fp32, fp16 or bf16 (default: the weights' type; random catalog weights are F16).",
        discussion: "The planned stages record their activations in it, and with --catalog-figures every measured "
            + "stage (not piper-vits, whose voices run f32). SDXL's VAE stays fp32 at fp16, as diffusers' SDXL "
            + "pipeline upcasts it; Wan keeps its time embedding and modulation in f32 whatever it is, and its VAE "
            + "runs f32 unless it is given. Stable Audio and MusicGen plan (and with --run run) every model in it, "
            + "MusicGen's KV cache with its decoder."))
    var precision: ActivationPrecision?

    @Flag(name: .long, help: "Measure the family's catalog activation figures over several sizes.")
    var catalogFigures = false

    @Option(name: .long, parsing: .upToNextOption,
            help: "With --catalog-figures: square image edges in pixels to measure at.")
    var sizes: [Int] = []

    @Option(name: .long, help: "With --catalog-figures: the weights (diffusers folder or voice .onnx) to measure.")
    var weights: String?

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    @Option(
        name: .long,
        help: """
            Autoregressive Wan (-ar): seconds of the stream at 16 fps (default 10); Stable Audio (sao, sao-small, \
            tiny-sao): seconds of audio (default: the window).
            """)
    var seconds: Double?

    @Option(name: .long, help: ArgumentHelp("Autoregressive Wan: the attention window in latent frames (default: "
            + "none up to 21 latent frames, else 21)."))
    var window: Int?

    @Option(name: .long, help: "Autoregressive Wan: the window's sink in latent frames (default: one chunk).")
    var sink: Int?

    @Option(name: .customLong("kv-cache"), help: ArgumentHelp("Autoregressive Wan: KV cache storage, f32, f16 or "
            + "bf16 (default: the activations' type; the VAE feature cache: f16 with either 16-bit kind)."))
    var kvCache: String?


    @Option(name: .customLong("chunk-frames"), help: "Autoregressive Wan: latent frames a chunk.")
    var chunkFrames = 3

    @Option(name: .long, help: ArgumentHelp("Autoregressive Wan with --run: chunks to make and decode (default: "
            + "enough to fill the KV cache to its largest)."))
    var chunks: Int?

    /// What one `--run` stage measured.
    struct Measurement: Codable {
        var stage: String
        var seconds: Double
        /// Allocator live bytes just before the run (this stage's weights and inputs).
        var residentBytes: UInt64
        /// Predicted peak: resident bytes + the graph's memory plan.
        var predictedPeakBytes: UInt64
        /// The allocator's measured peak during the run.
        var measuredPeakBytes: UInt64
    }

    /// What `--json` prints.
    struct Report: Codable {
        var device: String
        var model: String
        var checkpoint: String
        var size: Int
        var budget: UInt64
        var memory: CatalogMemoryReport
        var plan: GenerationMemoryPlan
        var measurements: [Measurement]
        var unetSecondsPerStep: Double?
        var predictedGenerationSeconds: Double?
    }

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if catalogFigures {
            guard runStages == false, size == nil, frames == nil else {
                throw ValidationError("--catalog-figures measures at --sizes; --run, --size and --frames do not apply")
            }
            guard sizes.allSatisfy({ $0 >= 8 && $0 % 8 == 0 }) else {
                throw ValidationError("--sizes must be positive multiples of 8")
            }
            return
        }
        if isStableAudio { return try validateStableAudio() }
        if isMusicGen { return try validateMusicGen() }
        if isWanStream { return try validateWanStream() }
        if isWan { return try validateWan() }
        guard sizes.isEmpty, weights == nil else {
            throw ValidationError("--sizes and --weights need --catalog-figures")
        }
        guard CatalogModel(rawValue: model) != nil || precision == nil else {
            throw ValidationError("--precision applies to sd15, sd2 and sdxl")
        }
        guard CatalogModel(rawValue: model) != nil else {
            throw ValidationError("model must be one of "
                + (CatalogModel.allCases.map(\.rawValue) + WanCatalogModel.allCases.map(\.rawValue)
                    + Self.tinyWanFamilies).joined(separator: ", "))
        }
        guard frames == nil else { throw ValidationError("--frames is for the Wan video models") }
        if let size, (Int(size) ?? 0) < 8 || (Int(size) ?? 0) % 8 != 0 {
            throw ValidationError("--size must be a positive multiple of 8, got \(size)")
        }
    }

    func run() throws {
        if catalogFigures { return try measureCatalogFigures() }
        if isStableAudio { return try runStableAudio() }
        if isMusicGen { return try runMusicGen() }
        if isWanStream { return try runWanStream() }
        if isWan { return try runWan() }
        guard let catalog = CatalogModel(rawValue: model) else {
            throw ValidationError("model must be one of "
                + CatalogModel.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let steps = self.steps ?? 30
        let edge = size.flatMap { Int($0) } ?? catalog.nativeSize
        let device = try deviceOptions.open()
        let budget = device.memory.budget
        if !json {
            print("\(catalog.checkpoint) at \(edge)×\(edge), random F16 weights, activations "
                + "\(ActivationPrecision.resolve(precision, weights: .f16).rawValue), on \(device.physical.name); "
                + "budget \(ByteCount(budget))")
        }
        let memory = try CatalogMemoryReport.measure(catalog, width: edge, height: edge, streamedUNet: streamWeights,
                                                     precision: precision, device: device)
        if !json { printMemory(memory) }
        // Over budget, this throws PipelineError.overBudget (the bytes needed) before anything runs.
        let plan = try memory.plan(budget: budget)
        if !json { printPlan(plan) }

        var measurements: [Measurement] = []
        var secondsPerStep: Double?
        var generationSeconds: Double?
        if runStages {
            let label = (plan.batchedGuidance ? "UNet step (batch 2)" : "UNet pass (batch 1)")
                + (streamWeights ? ", streamed" : "")
            let batch = plan.batchedGuidance ? 2 : 1
            let unet = try streamWeights
                ? measureStreamedUNet(device, catalog, label: label, batch: batch, edge: edge,
                                      stage: batch == 2 ? memory.memory.unetBatch2 : memory.memory.unetBatch1)
                : measure(device, label: label) { graph in
                    let unet = try catalog.makeUNet(device: device, precision: precision)
                    let inputs = try CatalogInputs.unet(graph, unet.configuration, batch: batch, height: edge / 8,
                                                        width: edge / 8)
                    return (try CatalogInputs.recordUNet(graph, unet, inputs), unet)
                }
            let decode = try measure(device, label: plan.tiledDecode ? "VAE decode (tiled)" : "VAE decode") { graph in
                let vae = try catalog.makeAutoencoder(device: device, precision: precision)
                let z = try CatalogInputs.latents(graph, channels: vae.configuration.latentChannels, batch: 1,
                                                  height: edge / 8, width: edge / 8)
                let tiles = plan.decodeTileLatentSize.map {
                    AutoencoderKL.TileConfiguration(latentTileSize: $0, sampleTileSize: $0 * 8)
                }
                return (try vae.decode(graph, z, tiling: tiles == nil ? .off : .on, tiles: tiles), vae)
            }
            measurements = [unet, decode]
            secondsPerStep = unet.seconds * (plan.batchedGuidance ? 1 : 2)
            generationSeconds = Double(steps) * secondsPerStep! + decode.seconds
            if !json {
                print("\nmeasured (--run):")
                for item in measurements {
                    let verdict = item.measuredPeakBytes <= item.predictedPeakBytes ? "≤" : ">"
                    print("  \(item.stage.padding(toLength: 22, withPad: " ", startingAt: 0)) "
                        + String(format: "%8.2f s", item.seconds)
                        + "   peak measured \(ByteCount(item.measuredPeakBytes)) \(verdict) predicted "
                        + "\(ByteCount(item.predictedPeakBytes)) (resident before the run "
                        + "\(ByteCount(item.residentBytes)))")
                }
                print(String(format: "  UNet seconds per step (CFG, %@): %.2f; %d steps + decode ≈ %.0f s "
                             + "(extrapolated)", plan.batchedGuidance ? "batched" : "sequential", secondsPerStep!,
                             steps, generationSeconds!))
            }
        }
        if json {
            let report = Report(device: device.physical.name, model: catalog.rawValue, checkpoint: catalog.checkpoint,
                                size: edge, budget: budget, memory: memory, plan: plan, measurements: measurements,
                                unetSecondsPerStep: secondsPerStep, predictedGenerationSeconds: generationSeconds)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        let messages = device.instance.validationLog.drain()
        for message in messages { FileHandle.standardError.write(Data("validation \(message)\n".utf8)) }
    }

    /// Builds a model and records its graph (uploading its weights), then runs the graph once on a fresh arena
    /// and reports its time and the allocator's peak against `resident + memoryPlan`.
    private func measure(_ device: GPUDevice, label: String, record: (Graph) throws -> (Value, AnyObject)) throws
        -> Measurement {
        device.memory.trim()
        let graph = Graph(arena: ActivationArena(device: device))
        let (output, model) = try record(graph)
        let resident = device.memory.liveBytes
        let predicted = resident + (try graph.memoryPlan([output])).peakBytes
        device.memory.resetPeak()
        let start = Date()
        let result = try graph.run([output])
        let seconds = Date().timeIntervalSince(start)
        let peak = device.memory.peakBytes
        withExtendedLifetime((result, model)) {}
        return Measurement(stage: label, seconds: seconds, residentBytes: resident, predictedPeakBytes: predicted,
                           measuredPeakBytes: peak)
    }

    /// One UNet pass with its weights streamed block by block over stand-in inputs, timed, with the allocator's
    /// peak against the planned one (`GenerationMemory.streamedUNetStages`, as the report recorded it).
    private func measureStreamedUNet(_ device: GPUDevice, _ catalog: CatalogModel, label: String, batch: Int,
                                     edge: Int, stage: GenerationMemory.Stage) throws -> Measurement {
        device.memory.trim()
        let unet = try catalog.makeUNet(device: device, precision: precision)
        let inputs = try CatalogInputs.streamedUNet(unet.configuration, batch: batch, height: edge / 8,
                                                    width: edge / 8, device: device)
        // The head and tail upload during the pass and stay: the stage counts them as resident.
        let resident = device.memory.liveBytes + UInt64(unet.streamedResidentBytes)
        let predicted = resident + stage.plannedBytes
        device.memory.resetPeak()
        let start = Date()
        let output = try unet.streamedPrediction(inputs, arena: ActivationArena(device: device))
        let seconds = Date().timeIntervalSince(start)
        withExtendedLifetime(output) {}
        return Measurement(stage: label, seconds: seconds, residentBytes: resident, predictedPeakBytes: predicted,
                           measuredPeakBytes: device.memory.peakBytes)
    }

    private func printMemory(_ memory: CatalogMemoryReport) {
        print("\nweights (F16)                 file bytes     uploaded (allocator, measured)")
        for item in memory.weights {
            print("  \(item.component.padding(toLength: 26, withPad: " ", startingAt: 0)) "
                + "\(column(item.fileBytes)) \(column(item.uploadedBytes))")
        }
        print("  \("total".padding(toLength: 26, withPad: " ", startingAt: 0)) "
            + "\(column(memory.weights.reduce(0) { $0 + $1.fileBytes })) \(column(memory.uploadedWeightBytes))")
        print("\nstage activations + outputs   planned (memoryPlan)   model's estimate   inputs")
        let stages = memory.memory
        for stage in [stages.textEncoding, stages.unetBatch1, stages.unetBatch2, stages.decodeUntiled]
            + stages.decodeTiled.map(\.stage) {
            print("  \(stage.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(column(stage.plannedBytes))"
                + "      \(stage.estimatedBytes.map(column) ?? column(nil))   \(ByteCount(stage.inputBytes))")
        }
        if stages.decodeTiled.isEmpty {
            print("  (no tiled decode: the latents are too small to split)")
        } else {
            print("  (tiles of " + stages.decodeTiled.map { "\($0.latentTileSize)" }.joined(separator: ", ")
                + " latents, in that order)")
        }
    }

    private func printPlan(_ plan: GenerationMemoryPlan) {
        print("\npredicted peaks for budget \(ByteCount(plan.budget)) (all weights resident, one stage's "
            + "activations at a time):")
        print("  resident weights \(ByteCount(plan.residentBytes)), conditioning "
            + "\(ByteCount(plan.conditioningBytes))"
            + (plan.releaseTextEncoders ? "; text encoders released after encoding" : ""))
        print("  text encoders  \(ByteCount(plan.textPeakBytes))")
        let guidance = plan.batchedGuidance ? "batched" : "sequential"
        print("  UNet           \(ByteCount(plan.unetPeakBytes))  (guidance \(guidance)"
            + (plan.streamedUNet ? ", weights streamed block by block)" : ")"))
        let decode = plan.decodeTileLatentSize.map { "tiled, \($0)-latent tiles" } ?? "untiled"
        print("  VAE decode     \(ByteCount(plan.decodePeakBytes))  (\(decode))")
        print("  peak           \(ByteCount(plan.peakBytes))  fits")
    }

    private func column(_ bytes: UInt64?) -> String {
        guard let bytes else { return "—".padding(toLength: 14, withPad: " ", startingAt: 0) }
        return String(describing: ByteCount(bytes)).padding(toLength: 14, withPad: " ", startingAt: 0)
    }
}

/// `kinora bench model FAMILY --catalog-figures`: the activation figures of `models/FAMILY.yaml`, measured.
extension ModelBenchCommand {
    /// Image edges measured by default: up to the native size and, for SD 1.5 and the tiny models, one step past it;
    /// the upscalers' input pictures (default 256 and 1024), smaller for the RRDBNet ones, whose 1024² pictures take
    /// a quarter of an hour and more on a CPU driver.
    static let defaultSizes = ["sd15": [256, 512, 768], "sd2": [256, 512, 768], "sdxl": [512, 768, 1024],
                               "tiny-sd15": [32, 64, 128], "tiny-sdxl": [32, 64, 128],
                               "realesrgan-x4plus": [128, 256], "realesrgan-x4plus-anime": [128, 256]]

    /// The interpolator's frame pairs measured by default (without --sizes): Wan 2.1's 832x480 and half of it, with
    /// one frame between (2× the frame rate) and four (the most 16 → 60 fps makes between two frames).
    static let interpolatorPairs = [(416, 240, 1), (416, 240, 4), (832, 480, 1), (832, 480, 4)].map {
        CatalogActivationFigures.FramePair(width: $0.0, height: $0.1, timesteps: $0.2)
    }

    /// What a voice speaks for its figure: one sentence each, from a word to about eight seconds.
    static let voiceTexts = [
        "Hello.",
        "Every morning the harbour wakes.",
        "The old lighthouse stood at the edge of the cliff, its lamp dark for many years.",
        "Every evening, the keeper's granddaughter climbed the spiral stairs to watch the ships pass, counting "
            + "tankers, ferries, and now and then a tall sailing ship in a small notebook.",
    ]

    /// What `--catalog-figures --json` prints.
    struct FiguresReport: Codable {
        var family: String
        var catalog: String
        var measurement: CatalogActivationFigures
        var figures: [CatalogActivationFigures.Figure]
    }

    func measureCatalogFigures() throws {
        guard let folder = BundledCatalog.locate() else {
            throw ValidationError("no catalog found: set \(BundledCatalog.environmentVariable) to the models/ folder")
        }
        let catalog = try ModelCatalog.load(directory: folder)
        guard let family = catalog.family(named: model) else {
            throw ValidationError("\(model) is not in the catalog at \(folder.path); families: "
                + catalog.families.map(\.name).joined(separator: ", "))
        }
        let device = try deviceOptions.open()
        let measurement = try measure(family, catalog: catalog, catalogFolder: folder, device: device)
        if json {
            let report = FiguresReport(family: family.name, catalog: folder.path, measurement: measurement,
                                       figures: measurement.figures)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printFigures(measurement, family: family)
        }
        let messages = device.instance.validationLog.drain()
        for message in messages { FileHandle.standardError.write(Data("validation \(message)\n".utf8)) }
    }

    private func measure(_ family: KinoraPipeline.ModelFamily, catalog: ModelCatalog, catalogFolder: URL,
                         device: GPUDevice) throws -> CatalogActivationFigures {
        let weightsURL = try weights.map { URL(fileURLWithPath: $0) } ?? {
            guard CatalogModel(rawValue: family.name) == nil,
                  !WanCatalogModel.allCases.contains(where: { $0.family == family.name }) else { return nil }
            let reference = ModelReference(name: family.name, source: .catalog(family.name), family: family.name,
                                           location: SourceLocation(file: "command line", line: 1, column: 1))
            let paths = ModelSearchPaths.standard(modelsDirs: [], environment: ProcessInfo.processInfo.environment,
                                                  bundled: catalogFolder)
            return try ModelLocator(catalog: catalog, searchPaths: paths, base: nil).locate(reference).url
        }()
        if family.output == .speech {
            guard precision == nil || precision == .fp32 else {
                throw ValidationError("--precision does not apply to \(family.name): Piper voices run fp32")
            }
            guard let weightsURL else { throw ValidationError("\(family.name): no voice file found") }
            return try CatalogActivationFigures.measure(voice: try PiperVoiceFiles(path: weightsURL),
                                                        texts: Self.voiceTexts, device: device)
        }
        if family.output == .video { return try measureWanFigures(family, weights: weightsURL, device: device) }
        if family.output == .upscaledImage || family.output == .interpolatedFrames {
            guard let weightsURL else { throw ValidationError("\(family.name): no weights found (scripts/setup.sh)") }
            if family.output == .interpolatedFrames {
                let pairs = sizes.isEmpty ? Self.interpolatorPairs
                    : sizes.map { CatalogActivationFigures.FramePair(width: $0, height: $0, timesteps: 1) }
                return try CatalogActivationFigures.measure(interpolator: weightsURL, pairs: pairs,
                                                            precision: precision, device: device)
            }
            return try CatalogActivationFigures.measure(
                upscaler: weightsURL, sizes: sizes.isEmpty ? Self.defaultSizes[family.name] ?? [256, 1024] : sizes,
                precision: precision, device: device)
        }
        let native = family.defaults.size.map { max($0.width, $0.height) } ?? 512
        let edges = sizes.isEmpty ? Self.defaultSizes[family.name] ?? [native / 2, native] : sizes
        if let weightsURL {
            return try CatalogActivationFigures.measure(
                folder: weightsURL.path, components: try StableDiffusionComponents(folder: weightsURL), sizes: edges,
                precision: precision, device: device)
        }
        guard let architecture = CatalogModel(rawValue: family.name) else {
            throw ValidationError("\(family.name) has no random-weight architecture; give its weights with --weights")
        }
        if !json {
            print("\(architecture.checkpoint), random F16 weights, "
                + "\(ActivationPrecision.resolve(precision, weights: .f16).rawValue) activations, on "
                + "\(device.physical.name): recording every stage at "
                + edges.map { "\($0)²" }.joined(separator: ", "))
        }
        return try CatalogActivationFigures.measure(architecture, sizes: edges, precision: precision, device: device)
    }

    private func printFigures(_ measurement: CatalogActivationFigures, family: KinoraPipeline.ModelFamily) {
        print("\(family.name): \(measurement.method), on \(measurement.device) (model \(measurement.model))")
        print("\n  component         unit                 bytes          per unit   setting")
        for sample in measurement.samples {
            print("  \(pad(sample.component, 17)) \(pad(sample.unit, 18)) \(pad("\(ByteCount(sample.bytes))", 14)) "
                + String(format: "%10.0f", sample.perUnit) + "   \(sample.setting)")
        }
        print("\nfigures (the largest bytes per unit; the catalog's current value):")
        for figure in measurement.figures {
            let current = family.components.first { $0.name == figure.component }?.activation[figure.unit]
            print("  \(pad(figure.component, 17)) activation_\(pad(figure.unit, 18)) "
                + String(format: "%10.0f", figure.value)
                + String(format: "   (smallest %.0f over %d stages; largest at %@)", figure.smallest, figure.samples,
                         figure.setting)
                + "   catalog: \(current.map { "\($0)" } ?? "none")")
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text.padding(toLength: width, withPad: " ", startingAt: 0)
    }
}
