import ArgumentParser
import Foundation
import KinoraGPU
import KinoraModels
import KinoraPipeline

/// `kinora bench model sao|tiny-sao`: a Stable Audio generation's device memory planned stage by stage
/// (`StableAudioMemoryPlanner`) — Stable Audio Open 1.0 over shape-only random weights (nothing uploaded), or a
/// folder's own weights (the tiny test folder by default for `tiny-sao`, or `--weights`) — and with `--run` (a
/// folder) the whole pipeline run once: seconds, the real-time factor and the allocator's peak beside the plan's.
extension ModelBenchCommand {
    static let stableAudioModels = ["sao", "tiny-sao"]

    var isStableAudio: Bool { Self.stableAudioModels.contains(model) }

    /// Stable Audio Open 1.0's T5-base text encoder (`t5-base`, `text_encoder/config.json`).
    static let t5Base = UMT5Config(
        vocabSize: 32128, dModel: 768, dKV: 64, dFF: 3072, numLayers: 12, numHeads: 12, feedForwardProj: "relu",
        modelType: "t5")

    func runStableAudio() throws {
        let device = try deviceOptions.open()
        let guidance = true
        let plan: StableAudioMemoryPlan
        var measured: String?
        let source: String
        if model == "sao", weights == nil {
            func store(_ shapes: [(name: String, shape: [Int])], _ name: String) -> RandomWeightStore {
                RandomWeightStore(
                    shapes: Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, $0.shape) }),
                    sourceName: "random Stable Audio Open 1.0 \(name)")
            }
            let dit = StableAudioDiTConfig()
            let vaeConfiguration = AutoencoderOobleckConfig.stableAudioOpen
            let projectionConfiguration = StableAudioProjectionConfig.stableAudioOpen1
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
                promptTokens: 128, guidance: guidance, device: device)
            source = "stabilityai/stable-audio-open-1.0 (random F16 weights, shapes only)"
        } else {
            let folder =
                try weights.map { URL(fileURLWithPath: $0) }
                ?? BundledCatalog.locate().map { $0.appending(path: "../Tests/Fixtures/stable-audio").standardized }
                ?? { throw ValidationError("give the Stable Audio folder with --weights") }()
            let loaded = try StableAudioPipeline(folder: folder, device: device)
            // The run comes first, from a device holding none of the pipeline's weights, so its peak is the one the
            // plan predicts (planning uploads weights a later run would find already there).
            if runStages { measured = try measure(loaded, device: device) }
            plan = try StableAudioMemoryPlanner.plan(
                textEncoder: loaded.textEncoder, projection: loaded.projection, transformer: loaded.transformer,
                vae: loaded.vae, promptTokens: loaded.promptTokens, guidance: guidance, device: device)
            source = folder.path
        }
        print(
            "\(source), \(plan.latentFrames) latent frames, guidance (batch 2), on \(device.physical.name); budget "
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

    /// One run of `pipeline` from a trimmed device: seconds, the real-time factor and the allocator's peak above what
    /// was live before it.
    private func measure(_ pipeline: StableAudioPipeline, device: GPUDevice) throws -> String {
        let memory = device.memory
        memory.trim()
        let before = memory.liveBytes
        memory.resetPeak()
        let started = Date()
        let audio = try pipeline.generate(
            StableAudioPipeline.Settings(prompt: "a red fox in the snow", steps: steps ?? 8, guidanceScale: 7, seed: 1))
        let seconds = Date().timeIntervalSince(started)
        let duration = Double(audio.frames) / Double(audio.sampleRate)
        return "measured (--run, \(steps ?? 8) steps): "
            + String(
                format: "%.3f s for %.2f s of audio (real-time factor %.2f)", seconds, duration, duration / seconds)
            + "; allocator peak \(memory.peakBytes - min(memory.peakBytes, before)) bytes above what was live"
    }
}
