import ArgumentParser
import Foundation
import KinoraGPU
import KinoraModels
import KinoraPipeline
import KinoraTensor

/// `kinora bench model wan21-1.3b-ar|wan22-5b-ar|tiny-wan21-ar|tiny-wan22-ar`: an autoregressive Wan stream's device
/// memory planned (`WanStreamPlanner`) with each tactic — the KV cache in f32 or 16 bits, every frame cached or a
/// rolling window with a sink — then the chosen one stage by stage against the budget; with `--run` the stream runs
/// (`WanStreamRunner`): time to the first frame, seconds per chunk, frames per second and the allocator's peak.
extension ModelBenchCommand {
    /// Whether the model argument names an autoregressive Wan: a Wan model with `-ar`.
    var isWanStream: Bool {
        guard model.hasSuffix("-ar") else { return false }
        let base = String(model.dropLast(3))
        return WanCatalogModel(rawValue: base) != nil || Self.tinyWanFamilies.contains(base)
    }

    /// What `--json` prints for an autoregressive Wan.
    struct WanStreamReport: Codable {
        struct Tactic: Codable {
            var cacheType: String
            var windowFrames: Int?
            var sinkFrames: Int
            var stream: WanStreamStagePlan
        }

        var device: String
        var model: String
        var source: String
        var videoFrames: Int
        var tactics: [Tactic]
        var plan: WanStreamPlan
        var measurement: WanStreamRunner.Measurement?
    }

    func validateWanStream() throws {
        guard sizes.isEmpty, frames == nil, steps == nil, !streamWeights else {
            throw ValidationError(
                "an autoregressive Wan takes --size, --seconds, --window, --sink, --kv-cache, --precision, "
                    + "--chunk-frames, --chunks, --vram and --run")
        }
        if let size, ImageSize(parsing: size) == nil {
            throw ValidationError("--size must be WIDTHxHEIGHT, such as 832x480; got \(size)")
        }
        if let seconds, !(seconds > 0 && seconds <= 86_400) {
            throw ValidationError("--seconds must be more than 0 and at most a day, got \(seconds)")
        }
        if let kvCache, DType(rawValue: kvCache).map({ [.f32, .f16, .bf16].contains($0) }) != true {
            throw ValidationError("--kv-cache must be f32, f16 or bf16, got \(kvCache)")
        }
        guard (1...WanAttentionWindow.trainedFrames).contains(chunkFrames), (chunks ?? 1) >= 1 else {
            throw ValidationError(
                "--chunk-frames must be 1 to \(WanAttentionWindow.trainedFrames) and --chunks at "
                    + "least 1")
        }
        if let reason = window.flatMap(WanAttentionWindow.untrained) { throw ValidationError("--window: \(reason)") }
    }

    func runWanStream() throws {
        let device = try deviceOptions.open()
        let subject = try wanSubject(device: device, named: String(model.dropLast(3)))
        let parsed = size.flatMap(ImageSize.init(parsing:))
        let (width, height) = (parsed?.width ?? subject.width, parsed?.height ?? subject.height)
        // As `kinora video --autoregressive`: 16 fps, whole chunks of latent frames.
        let asked = max(1, Int(((seconds ?? 10) * 16).rounded()))
        let temporal = subject.components.vae.temporalCompression
        let needed = (asked - 1 + temporal - 1) / temporal + 1
        let latentFrames = (needed + chunkFrames - 1) / chunkFrames * chunkFrames
        let videoFrames = 1 + temporal * (latentFrames - 1)
        let chosen =
            try window.map { try WanAttentionWindow(frames: $0, sinkFrames: min(sink ?? chunkFrames, $0 - 1)) }
            ?? WanAttentionWindow.automatic(latentFrames: latentFrames, chunkFrames: chunkFrames)
        // The KV cache is by default in the transformer's activation type.
        let activations = ActivationPrecision.resolve(
            precision, weights: subject.components.transformerStore.storageType()).dtype
        let cacheType = kvCache.flatMap(DType.init(rawValue:)) ?? activations
        func request(_ type: DType, _ window: WanAttentionWindow?) -> WanStreamRequest {
            WanStreamRequest(
                width: width, height: height, latentFrames: latentFrames, chunkFrames: chunkFrames,
                windowFrames: window?.frames, sinkFrames: window?.sinkFrames ?? 0, cacheType: type,
                precision: precision)
        }
        let budget = device.memory.budget
        if !json {
            print(
                "\(subject.source), autoregressive, at \(width)×\(height), \(videoFrames) frames (\(latentFrames) "
                    + "latent frames, " + String(format: "%.2f s at 16 fps", Double(videoFrames) / 16) + "), "
                    + (subject.random ? "random F16 weights" : "its own weights") + ", \(activations) activations, on "
                    + "\(device.physical.name); budget \(ByteCount(budget))"
                    + "\(deviceOptions.vram == nil ? "" : " (--vram)"), largest buffer "
                    + "\(ByteCount(device.memory.maxBufferSize))")
            print("\nthe stream's peak with each tactic (DiT and VAE decoder resident; text encoded before):")
        }
        // Every frame cached (when the model's positions reach), Self-Forcing's trained extent, LongLive's window and
        // half of it, each with a sink of one chunk, and the one asked for.
        var windows: [WanAttentionWindow?] = []
        if latentFrames <= subject.components.transformer.ropeMaxSeqLen { windows.append(nil) }
        for frames in [WanAttentionWindow.trainedFrames, 12, 6] where frames > chunkFrames {
            windows.append(try WanAttentionWindow(frames: frames, sinkFrames: chunkFrames))
        }
        if !windows.contains(chosen) { windows.append(chosen) }
        var tactics: [WanStreamReport.Tactic] = []
        for window in windows {
            for type in [DType.f32, .f16] {
                let stream = try WanStreamPlanner.streamStage(
                    subject.components, request(type, window), budget: budget, device: device)
                tactics.append(
                    .init(
                        cacheType: type.rawValue, windowFrames: window?.frames, sinkFrames: window?.sinkFrames ?? 0,
                        stream: stream))
                if !json { printTactic(stream, type: type, window: window, latentFrames: latentFrames) }
            }
        }
        let plan = try WanStreamPlanner.plan(
            subject.components, request(cacheType, chosen), budget: budget, device: device)
        if !json { printStreamPlan(plan) }
        var measurement: WanStreamRunner.Measurement?
        if runStages {
            try plan.checkBudget()
            try plan.checkDeviceBuffers()
            let measured = try WanStreamRunner(components: subject.components, plan: plan, device: device)
                .run(chunks: chunks ?? min(plan.request.chunks, plan.stream.kvCacheFrames / chunkFrames + 1))
            measurement = measured
            if !json {
                let verdict = measured.measuredPeakBytes == measured.predictedPeakBytes ? "=" : "≠"
                print(
                    "\nmeasured (--run, \(measured.chunks) chunks, \(measured.videoFrames) frames), on "
                        + "\(device.physical.name):\n"
                        + String(
                            format: "  first frame after %.2f s; chunks %@ s; %.2f frames/s after the first chunk",
                            measured.secondsToFirstFrame,
                            measured.chunkSeconds.map { String(format: "%.2f", $0) }.joined(separator: ", "),
                            measured.framesPerSecond)
                        + "\n  stream peak measured \(measured.measuredPeakBytes) \(verdict) predicted "
                        + "\(measured.predictedPeakBytes) bytes; KV cache \(ByteCount(measured.kvCacheBytes))")
            }
        }
        if json {
            let report = WanStreamReport(
                device: device.physical.name, model: model, source: subject.source, videoFrames: videoFrames,
                tactics: tactics, plan: plan, measurement: measurement)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        let messages = device.instance.validationLog.drain()
        for message in messages { FileHandle.standardError.write(Data("validation \(message)\n".utf8)) }
        try plan.checkBudget()
    }

    private func printTactic(_ stream: WanStreamStagePlan, type: DType, window: WanAttentionWindow?, latentFrames: Int)
    {
        let name =
            window.map { "window \($0.frames), sink \($0.sinkFrames)" }
            ?? "every frame (\(latentFrames) latent frames)"
        print(
            "  \(type.rawValue) cache, \(name.padding(toLength: 30, withPad: " ", startingAt: 0)) peak "
                + "\(ByteCount(stream.peakBytes)) (\(stream.peakBytes) bytes) at the \(stream.peakPass); KV cache "
                + "\(ByteCount(stream.kvCacheBytes)) of \(stream.kvCacheFrames) frames")
    }

    private func printStreamPlan(_ plan: WanStreamPlan) {
        let stream = plan.stream
        print("\nstages, one after another:")
        var stages = [plan.textEncoding]
        if let keyframe = plan.keyframeEncode { stages.append(keyframe) }
        for stage in stages {
            print(
                "  \(stage.stage.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) peak "
                    + "\(ByteCount(stage.peakBytes)) (\(stage.peakBytes) bytes): \(stage.tactic)")
        }
        print(
            "  stream           peak \(ByteCount(stream.peakBytes)) (\(stream.peakBytes) bytes) at the "
                + "\(stream.peakPass): \(stream.tactic)")
        let parts: [(String, UInt64)] = [
            ("DiT weights", stream.transformerWeightBytes), ("VAE decoder weights", stream.decoderWeightBytes),
            ("prompt embeddings", stream.promptBytes), ("text keys and values", stream.textKeyValueBytes),
            ("KV cache (\(stream.kvCacheFrames) frames)", stream.kvCacheBytes),
            ("VAE feature cache", stream.decoderCacheBytes), ("denoising pass", stream.predictPassBytes),
            ("cache pass", stream.extendPassBytes), ("decode call", stream.decodeCallBytes),
        ]
        for (name, bytes) in parts {
            print("    \(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(ByteCount(bytes))")
        }
        print(
            "\nwhole plan: peak \(ByteCount(plan.peakBytes)) (\(plan.peakBytes) bytes) at \(plan.peakStage); "
                + (plan.fitsBudget ? "fits" : "does NOT fit") + " the budget of \(ByteCount(plan.budget))")
        if stream.largestBufferBytes > plan.deviceMaxBufferBytes {
            print(
                "this device's largest buffer is \(ByteCount(plan.deviceMaxBufferBytes)); the stream needs "
                    + "\(ByteCount(stream.largestBufferBytes)): it cannot run on it at this size")
        }
    }
}
