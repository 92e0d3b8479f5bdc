import ArgumentParser
import Foundation
import KinoraGPU
import KinoraModels
import KinoraPipeline
import KinoraTensor

/// `kinora bench model sao|sao-small|tiny-sao`: a Stable Audio generation's device memory planned stage by stage
/// (`StableAudioMemoryPlanner`) — Stable Audio Open 1.0 (guidance, batch 2) or Small (no guidance, batch 1, 64 prompt
/// tokens) over shape-only random weights (nothing uploaded), or a folder's own weights (the tiny test folder by
/// default for `tiny-sao`, or `--weights`) — and with `--run` (a folder) the whole pipeline run once: seconds, the
/// real-time factor and the allocator's peak beside the plan's. `--seconds N` (default: the whole window) is the audio
/// asked for, refused beyond the model's window; the pipeline denoises the whole window either way (as diffusers and
/// stable-audio-tools' defaults do), so the plan is the window's and the real-time factor is N over the run's time.
/// Every model plans and runs its activations in `--precision` (default: its weights' type, F16 for the random ones).
extension ModelBenchCommand {
    static let stableAudioModels = ["sao", "sao-small", "tiny-sao"]
    /// The full-size models planned over random weights.
    static let stableAudioFullSize = ["sao", "sao-small"]

    var isStableAudio: Bool { Self.stableAudioModels.contains(model) }

    /// Stable Audio Open 1.0's T5-base text encoder (`t5-base`, `text_encoder/config.json`).
    static let t5Base = UMT5Config(
        vocabSize: 32128, dModel: 768, dKV: 64, dFF: 3072, numLayers: 12, numHeads: 12, feedForwardProj: "relu",
        modelType: "t5")

    func validateStableAudio() throws {
        if let seconds, !(seconds.isFinite && seconds > 0) {
            throw ValidationError("--seconds must be a positive number, got \(seconds)")
        }
    }

    /// `--seconds`, checked against the window of `maximum` seconds before any planning or running.
    private func askedSeconds(maximum: Double, name: String) throws -> Double {
        guard let seconds else { return maximum }
        guard seconds <= maximum + 1e-9 else {
            throw ValidationError(
                String(format: "--seconds %.2f is longer than %@'s window of %.2f s", seconds, name, maximum))
        }
        return seconds
    }

    func runStableAudio() throws {
        let device = try deviceOptions.open()
        let small = model == "sao-small"
        var guidance = !small
        let plan: StableAudioMemoryPlan
        var measured: String?
        let source: String
        let asked: Double
        if Self.stableAudioFullSize.contains(model), weights == nil {
            let name = small ? "Stable Audio Open Small" : "Stable Audio Open 1.0"
            func store(_ shapes: [(name: String, shape: [Int])], _ part: String) -> RandomWeightStore {
                RandomWeightStore(
                    shapes: Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, $0.shape) }),
                    sourceName: "random \(name) \(part)")
            }
            let dit: StableAudioDiTConfig = small ? .stableAudioOpenSmall : .stableAudioOpen1
            let vaeConfiguration = AutoencoderOobleckConfig.stableAudioOpen
            let projectionConfiguration: StableAudioProjectionConfig =
                small ? .stableAudioOpenSmall : .stableAudioOpen1
            asked = try askedSeconds(
                maximum: Double(dit.sampleSize * vaeConfiguration.hopLength) / Double(vaeConfiguration.samplingRate),
                name: name)
            let textEncoder = try UMT5EncoderModel(
                configuration: Self.t5Base,
                weights: .shapesOnly(
                    store: store(UMT5EncoderModel.parameterShapes(Self.t5Base), "text_encoder"), device: device))
            plan = try StableAudioMemoryPlanner.plan(
                textEncoder: textEncoder,
                projection: StableAudioProjectionModel(
                    configuration: projectionConfiguration,
                    weights: .shapesOnly(
                        store: store(StableAudioProjectionModel.parameterShapes(projectionConfiguration), "projection"),
                        device: device)),
                transformer: StableAudioDiTModel(
                    configuration: dit,
                    weights: .shapesOnly(
                        store: store(StableAudioDiTModel.parameterShapes(dit), "dit"), device: device)),
                vae: AutoencoderOobleck(
                    configuration: vaeConfiguration,
                    weights: .shapesOnly(
                        store: store(AutoencoderOobleck.parameterShapes(vaeConfiguration), "vae"), device: device)),
                promptTokens: small ? StableAudioFamily.openSmall.promptTokens : StableAudioFamily.open1.promptTokens,
                guidance: guidance, device: device, precision: precision)
            source = "stabilityai/stable-audio-open-\(small ? "small" : "1.0") (random F16 weights, shapes only)"
            if runStages {
                guard plan.peakBytes <= device.memory.budget else {
                    throw ValidationError(
                        "--run: \(name)'s planned peak \(ByteCount(plan.peakBytes)) is more than the device's budget "
                            + "\(ByteCount(device.memory.budget)) (\(device.physical.name)); give a larger --vram on a "
                            + "device that has it")
                }
                measured = try timeRandomStableAudio(
                    dit: dit, vae: vaeConfiguration, projection: projectionConfiguration, guidance: guidance,
                    seconds: asked, store: store, device: device)
            }
        } else {
            let folder =
                try weights.map { URL(fileURLWithPath: $0) }
                ?? BundledCatalog.locate().map { $0.appending(path: "../Tests/Fixtures/stable-audio").standardized }
                ?? { throw ValidationError("give the Stable Audio folder with --weights") }()
            let loaded = try StableAudioPipeline(folder: folder, device: device)
            loaded.precision = precision
            asked = try askedSeconds(maximum: loaded.maximumSeconds, name: folder.lastPathComponent)
            guidance = loaded.recommendedGuidance > 1
            // The run comes first, from a device holding none of the pipeline's weights, so its peak is the one the
            // plan predicts (planning uploads weights a later run would find already there).
            if runStages { measured = try measure(loaded, seconds: asked, device: device) }
            plan = try StableAudioMemoryPlanner.plan(
                textEncoder: loaded.textEncoder, projection: loaded.projection, transformer: loaded.transformer,
                vae: loaded.vae, promptTokens: loaded.promptTokens, guidance: guidance, device: device,
                precision: precision)
            source = folder.path
        }
        print(
            "\(source), \(plan.latentFrames) latent frames, "
                + String(format: "%.2f s asked, ", asked)
                + (guidance ? "guidance (batch 2)" : "no guidance (batch 1)")
                + ", \(plan.transformerActivations) DiT and \(plan.vaeActivations) VAE activations"
                + ", on \(device.physical.name); budget "
                + "\(ByteCount(device.memory.budget)), largest buffer \(ByteCount(device.memory.maxBufferSize))")
        for stage in plan.stages {
            print(
                "  \(stage.stage.padding(toLength: 14, withPad: " ", startingAt: 0)) peak "
                    + "\(ByteCount(stage.peakBytes)) (\(stage.peakBytes) bytes): weights "
                    + "\(ByteCount(stage.weightBytes)), "
                    + "largest buffer \(ByteCount(stage.largestBufferBytes))")
        }
        print("whole plan: peak \(ByteCount(plan.peakBytes)) at the \(plan.peakStage ?? "—") stage")
        if let measured { print(measured + "; planned \(plan.peakBytes)") }
    }

    /// Full-size Stable Audio over random F16 values (noise out, the real model's work): the text encoding, one DiT
    /// pass over the window (batch 2 with guidance) and one VAE decode chunk timed, and the generation of `steps`
    /// (default: the family's) predicted from them: text + steps × pass + the window's chunks × chunk.
    private func timeRandomStableAudio(
        dit: StableAudioDiTConfig, vae vaeConfiguration: AutoencoderOobleckConfig,
        projection projectionConfiguration: StableAudioProjectionConfig, guidance: Bool, seconds: Double,
        store: ([(name: String, shape: [Int])], String) -> RandomWeightStore, device: GPUDevice
    ) throws -> String {
        let textEncoder = try UMT5EncoderModel(
            configuration: Self.t5Base,
            weights: DeviceWeights(store: store(UMT5EncoderModel.parameterShapes(Self.t5Base), "text_encoder"),
                                   device: device))
        let projection = try StableAudioProjectionModel(
            configuration: projectionConfiguration,
            weights: DeviceWeights(store: store(StableAudioProjectionModel.parameterShapes(projectionConfiguration),
                                                "projection"), device: device))
        let transformer = try StableAudioDiTModel(
            configuration: dit,
            weights: DeviceWeights(store: store(StableAudioDiTModel.parameterShapes(dit), "dit"), device: device))
        let vae = try AutoencoderOobleck(
            configuration: vaeConfiguration,
            weights: DeviceWeights(store: store(AutoencoderOobleck.parameterShapes(vaeConfiguration), "vae"),
                                   device: device))
        let arena = ActivationArena(device: device)
        let rows = guidance ? 2 : 1
        let tokens = projectionConfiguration == .stableAudioOpenSmall
            ? StableAudioFamily.openSmall.promptTokens : StableAudioFamily.open1.promptTokens
        func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let started = Date()
            let result = try body()
            return (result, Date().timeIntervalSince(started))
        }
        let activations = transformer.activationType(precision)
        let (conditioning, textSeconds) = try timed { () -> [Tensor] in
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            let ids = [[Int]](repeating: [Int](repeating: 1, count: tokens), count: rows)
            let (conditioning, global) = try projection.recordConditioning(
                graph, textEncoder: textEncoder, ids: ids, attentionMask: ids,
                secondsStart: [Float](repeating: 0, count: rows),
                secondsEnd: [Float](repeating: Float(seconds), count: rows), precision: precision)
            return try graph.run([graph.cast(conditioning, to: activations), graph.cast(global, to: activations)])
        }
        let latent = [rows, dit.inChannels, dit.sampleSize]
        let (_, passSeconds) = try timed { () -> [Tensor] in
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            return try graph.run([try transformer(
                graph, hiddenStates: graph.input([Float](repeating: 0.1, count: latent.reduce(1, *)), shape: latent),
                timestep: [0.5], encoderHiddenStates: graph.input(conditioning[0]),
                globalHiddenStates: graph.input(conditioning[1]))])
        }
        let chunk = min(dit.sampleSize, StableAudioPipeline.decodeChunkFrames + 2 * vae.decodeContextFrames)
        let (_, chunkSeconds) = try timed { () -> [Tensor] in
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            graph.activationDType = vae.activationType(precision)
            let shape = [1, dit.inChannels, chunk]
            return try graph.run([try vae.decode(
                graph, graph.input([Float](repeating: 0.1, count: shape.reduce(1, *)), shape: shape))])
        }
        let steps = self.steps ?? (projectionConfiguration == .stableAudioOpenSmall ? 8 : 100)
        let chunks = (dit.sampleSize + StableAudioPipeline.decodeChunkFrames - 1) / StableAudioPipeline.decodeChunkFrames
        let predicted = textSeconds + Double(steps) * passSeconds + Double(chunks) * chunkSeconds
        return "measured (--run, random F16 weights, \(activations.rawValue) DiT activations): " + String(
            format: "text %.3f s; DiT pass %.3f s (batch %d, %d latent frames); decode chunk %.3f s (%d frames with "
                + "context); predicted for %d steps and %d chunks: %.2f s for %.2f s of audio (real-time factor %.3f)",
            textSeconds, passSeconds, rows, dit.sampleSize, chunkSeconds, chunk, steps, chunks, predicted, seconds,
            seconds / predicted)
    }

    /// One run of `pipeline` from a trimmed device: seconds, the real-time factor and the allocator's peak above what
    /// was live before it.
    private func measure(_ pipeline: StableAudioPipeline, seconds: Double, device: GPUDevice) throws -> String {
        let memory = device.memory
        memory.trim()
        let before = memory.liveBytes
        memory.resetPeak()
        let started = Date()
        let audio = try pipeline.generate(
            StableAudioPipeline.Settings(
                prompt: "a red fox in the snow", secondsEnd: seconds, steps: steps ?? 8,
                guidanceScale: pipeline.recommendedGuidance, seed: 1))
        let seconds = Date().timeIntervalSince(started)
        let duration = Double(audio.frames) / Double(audio.sampleRate)
        return "measured (--run, \(steps ?? 8) steps): "
            + String(
                format: "%.3f s for %.2f s of audio (real-time factor %.2f)", seconds, duration, duration / seconds)
            + "; allocator peak \(memory.peakBytes - min(memory.peakBytes, before)) bytes above what was live"
    }
}
