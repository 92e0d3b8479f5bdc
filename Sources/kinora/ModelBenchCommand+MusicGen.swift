import ArgumentParser
import Foundation
import KinoraFormats
import KinoraGPU
import KinoraModels
import KinoraPipeline
import KinoraTensor

/// `kinora bench model musicgen-small|tiny-musicgen`: a MusicGen cue's device memory planned stage by stage
/// (`MusicGenMemoryPlanner`) — musicgen-small over random full-size weights, or a folder's own (the tiny test folder
/// by default for `tiny-musicgen`, or `--weights`) — and with `--run` the cue made once: decoder steps a second,
/// the audio decode's time, the real-time factor and the allocator's peak beside the plan's. musicgen-small's run
/// uses random F16 weights (noise out, the work of the real model). Every model plans and runs its activations in
/// `--precision` (default: its weights' type, F16 for the random ones), the KV cache with the decoder's.
extension ModelBenchCommand {
    static let musicGenModels = ["musicgen-small", "tiny-musicgen"]

    var isMusicGen: Bool { Self.musicGenModels.contains(model) }

    func validateMusicGen() throws {
        if let seconds, !(seconds.isFinite && seconds > 0 && seconds <= MusicGenPipeline.maximumSeconds) {
            throw ValidationError("--seconds must be more than 0 and at most \(Int(MusicGenPipeline.maximumSeconds)), "
                + "got \(seconds)")
        }
    }

    func runMusicGen() throws {
        let device = try deviceOptions.open()
        let seconds = self.seconds ?? 30
        if model == "musicgen-small", weights == nil { return try runMusicGenSmall(seconds: seconds, device: device) }
        let folder =
            try weights.map { URL(fileURLWithPath: $0) }
            ?? BundledCatalog.locate().map { $0.appending(path: "../Tests/Fixtures/musicgen").standardized }
            ?? { throw ValidationError("give the MusicGen folder with --weights") }()
        let pipeline = try MusicGenPipeline(folder: folder, device: device)
        pipeline.precision = precision
        let windows = try pipeline.windows(seconds: seconds)
        var measured: String?
        if runStages {
            let memory = device.memory
            memory.trim()
            let before = memory.liveBytes
            memory.resetPeak()
            let started = Date()
            var steps = 0
            let audio = try pipeline.generate(.init(prompt: "a red fox in the snow", seconds: seconds, seed: 1)) {
                done, _ in steps = done
            }
            let elapsed = Date().timeIntervalSince(started)
            let duration = Double(audio.frames) / Double(audio.sampleRate)
            measured = "measured (--run): " + String(
                format: "%.3f s for %.2f s of audio, %d decoder steps (real-time factor %.3f)", elapsed, duration,
                steps, duration / elapsed) + "; allocator peak \(memory.peakBytes - min(memory.peakBytes, before)) "
                + "bytes above what was live"
        }
        let tokens = pipeline.tokenizer.ids("a red fox in the snow").count
        let plan = try plan(
            textEncoder: pipeline.textEncoder, decoder: pipeline.decoder, codec: pipeline.codec, promptTokens: tokens,
            windows: windows, device: device)
        report(plan, source: folder.path, windows: windows, device: device)
        if let measured { print(measured + "; planned \(plan.peakBytes)") }
    }

    /// musicgen-small (T5-base, the 24-layer decoder, EnCodec 32 kHz) over random weights: planned from shapes, and
    /// with `--run` the decoder's steps and the audio decode timed on random F16 values.
    private func runMusicGenSmall(seconds: Double, device: GPUDevice) throws {
        let decoderConfiguration = MusicGenDecoderConfig.small
        let codecConfiguration = EncodecConfig.musicgen32kHz
        let t5 = Self.t5Base
        var shapes: [String: [Int]] = [:]
        for (name, shape) in UMT5EncoderModel.parameterShapes(t5) { shapes["text_encoder.\(name)"] = shape }
        for (name, shape) in MusicGenDecoder.parameterShapes(decoderConfiguration) { shapes["decoder.\(name)"] = shape }
        shapes["enc_to_dec_proj.weight"] = [decoderConfiguration.hiddenSize, t5.dModel]
        shapes["enc_to_dec_proj.bias"] = [decoderConfiguration.hiddenSize]
        for (name, shape) in EncodecDecoder.parameterShapes(codecConfiguration) {
            shapes["audio_encoder.\(name)"] = shape
        }
        let store = RandomWeightStore(shapes: shapes, sourceName: "random musicgen-small")
        func parts(_ weights: (any WeightStore) -> DeviceWeights) throws
            -> (UMT5EncoderModel, MusicGenDecoder, EncodecDecoder) {
            let text = PrefixStrippedWeightStore(base: store, prefix: "text_encoder.")
            let root = weights(store)
            return (
                try UMT5EncoderModel(configuration: t5, weights: weights(text)),
                try MusicGenDecoder(configuration: decoderConfiguration, textWidth: t5.dModel,
                                    weights: root.scoped("decoder"), projection: root.scoped("enc_to_dec_proj")),
                try EncodecDecoder(configuration: codecConfiguration,
                                   weights: weights(PrefixStrippedWeightStore(base: store, prefix: "audio_encoder.")))
            )
        }
        let frameRate = Double(codecConfiguration.samplingRate) / Double(codecConfiguration.hopLength)
        let windows = try MusicGenWindows(
            frames: Int(seconds * frameRate), windowFrames: Int(30 * frameRate), strideFrames: Int(18 * frameRate))
        let (text, decoder, codec) = try parts { .shapesOnly(store: $0, device: device) }
        let plan = try plan(textEncoder: text, decoder: decoder, codec: codec, promptTokens: promptTokens,
                            windows: windows, device: device)
        report(plan, source: "facebook/musicgen-small (random F16 weights, shapes only)", windows: windows,
               device: device)
        guard runStages else { return }
        // The run: every window's steps would take hours on a CPU device, so the first window's first
        // `--steps` steps (default 50: one second of audio) are timed and the rest extrapolated from them.
        let (liveText, liveDecoder, liveCodec) = try parts { DeviceWeights(store: $0, device: device) }
        let arena = ActivationArena(device: device)
        let ids = [Int](repeating: 1, count: promptTokens)
        var started = Date()
        let graph = Graph(arena: arena)
        graph.activationDType = liveText.activationType(precision)
        let states = try graph.run([try liveText(graph, inputIDs: [ids])])[0].floats()
        let textSeconds = Date().timeIntervalSince(started)
        let frames = min(windows.windows[0].frames, max(steps ?? 50, 3))
        let pattern = try MusicGenDelayPattern(
            codebooks: 4, audioChannels: 1, frames: frames, pad: decoderConfiguration.padTokenID)
        var stepTimes: [Double] = []
        started = Date()
        let codes = try liveDecoder.generate(
            .init(textStates: states, textMask: ids.map { _ in 1 }, pattern: pattern, sampling: MusicGenSampling(),
                  seed: 1, precision: precision), arena: arena,
            progress: { _, _ in
                stepTimes.append(Date().timeIntervalSince(started))
                started = Date()
            })
        started = Date()
        let audio = try liveCodec.decode(codes: codes, arena: arena, precision: precision)
        let decodeSeconds = Date().timeIntervalSince(started)
        let perStep = stepTimes.dropFirst().sorted()[stepTimes.count / 2 - 1]
        let audioSeconds = Double(audio.count) / Double(codecConfiguration.samplingRate)
        let allSteps = Double(windows.windows.reduce(0) {
            $0 + $1.steps(codebooksPerChannel: decoderConfiguration.codebooksPerChannel)
        })
        let predicted = textSeconds + allSteps * perStep + decodeSeconds / audioSeconds * seconds
        print(String(format: "measured (--run, random F16 weights, %d frames): text %.3f s; decoder step median %.3f s "
            + "(batch 2, %.1f steps/s, %.3f× real time at 50 frames/s); audio decode %.3f s for %.2f s (%.2f× real "
            + "time); predicted for %.1f s: %.1f s (real-time factor %.3f)", frames, textSeconds, perStep, 1 / perStep,
            1 / (perStep * frameRate), decodeSeconds, audioSeconds, audioSeconds / decodeSeconds, seconds, predicted,
            seconds / predicted))
    }

    private func plan(
        textEncoder: UMT5EncoderModel, decoder: MusicGenDecoder, codec: EncodecDecoder, promptTokens: Int,
        windows: MusicGenWindows, device: GPUDevice
    ) throws -> MusicGenMemoryPlan {
        let longest = windows.windows.map(\.frames).max() ?? 0
        let prompt = windows.windows.map(\.promptFrames).max() ?? 0
        return try MusicGenMemoryPlanner.plan(
            textEncoder: textEncoder, decoder: decoder, promptTokens: promptTokens, windowFrames: longest,
            promptFrames: prompt, guidance: true, device: device, codec: codec, cueFrames: windows.frames,
            precision: precision)
    }

    private func report(_ plan: MusicGenMemoryPlan, source: String, windows: MusicGenWindows, device: GPUDevice) {
        print("\(source), \(windows.frames) code frames in \(windows.windows.count) window(s) of up to "
            + "\(plan.windowFrames) (prompts of \(plan.promptFrames)), guidance (batch 2), activations T5 "
            + "\(plan.textEncoderActivations), decoder \(plan.decoderActivations), EnCodec \(plan.codecActivations), "
            + "on \(device.physical.name); "
            + "budget \(ByteCount(device.memory.budget)), largest buffer \(ByteCount(device.memory.maxBufferSize))")
        for stage in plan.stages {
            print("  \(stage.stage.padding(toLength: 14, withPad: " ", startingAt: 0)) peak "
                + "\(ByteCount(stage.peakBytes)) (\(stage.peakBytes) bytes): weights \(ByteCount(stage.weightBytes)) "
                + "(\(stage.weightBytes) bytes), "
                + "cache \(ByteCount(stage.cacheBytes)), largest buffer \(ByteCount(stage.largestBufferBytes))")
        }
        print("whole plan: peak \(ByteCount(plan.peakBytes)) at the \(plan.peakStage ?? "—") stage")
    }
}
