import ArgumentParser
import Foundation
import KinoraMedia
import KinoraGPU
import KinoraModels
import KinoraPipeline
import KinoraTensor

extension VideoCommand {
    /// `--autoregressive`: the causal Wan made chunk by chunk (`WanAutoregressiveLoop`), each finished chunk decoded
    /// with the VAE cache carried over and its frames handed to the encoder at once, so the file grows as the video
    /// is made; progress per chunk with frames per second and the latency to the first frame. With a keyframe, its
    /// latent is the video's first frame, clean in the cache before the first chunk.
    func runAutoregressive(
        _ pipeline: WanVideoPipeline, parts: WanStageComponents, keyframe: WanVideoImage?, outputURL: URL,
        codec: VideoCodec, fps requestedRate: FrameRate?
    ) throws {
        let started = Date()
        let frameRate = try requestedRate ?? FrameRate(16)
        let videoSize = size.flatMap(ImageSize.init(parsing:))
            ?? keyframe.map { ImageSize(width: $0.width, height: $0.height) } ?? ImageSize(width: 832, height: 480)
        if let keyframe, keyframe.width != videoSize.width || keyframe.height != videoSize.height {
            throw ValidationError(
                "--image is \(keyframe.width)x\(keyframe.height) but the video is \(videoSize); resize or crop the "
                    + "picture to the video's size, or leave out --size")
        }
        let temporal = pipeline.vae.configuration.temporalCompression
        let asked = seconds.map { max(1, Int(($0 * frameRate.framesPerSecond).rounded())) } ?? frames ?? 81
        // Whole chunks of latent frames (after the keyframe's one): the video is rounded up to them, and says so.
        let start = keyframe == nil ? 0 : 1
        let needed = (asked - 1 + temporal - 1) / temporal + 1 - start
        let latentFrames = start + (needed + chunkFrames - 1) / chunkFrames * chunkFrames
        let videoFrames = 1 + temporal * (latentFrames - 1)
        var settings = WanVideoSettings(
            prompt: prompt, width: videoSize.width, height: videoSize.height, frames: videoFrames, steps: 1,
            guidanceScale: 1, seed: seed)
        settings.streamedTextEncoder = streamWeights != .off
        let shape = try pipeline.latentShape(settings)
        // A stream longer than the models were trained on rolls a window of what they were trained on.
        let attentionWindow =
            try window.map { try WanAttentionWindow(frames: $0, sinkFrames: min(sink ?? chunkFrames, $0 - 1)) }
            ?? WanAttentionWindow.automatic(latentFrames: latentFrames, chunkFrames: chunkFrames)
        if window == nil, let attentionWindow {
            Self.note(
                "\(latentFrames) latent frames are more than the \(WanAttentionWindow.trainedFrames) the model was "
                    + "trained on: a rolling window of \(attentionWindow.frames) latent frames with a sink of "
                    + "\(attentionWindow.sinkFrames) (--window, --sink)")
        }
        let duration = frameRate.duration(ofFrames: videoFrames)
        if let late = promptAt.first(where: { $0.seconds >= duration }) {
            throw ValidationError(
                "--prompt-at \(late.seconds):… is past the video's end (\(videoFrames) frames at \(frameRate) fps are "
                    + String(format: "%.2f s)", duration))
        }
        let switches = promptAt.sorted { $0.seconds < $1.seconds }
        // The KV cache is by default in the transformer's activation type.
        let cacheType = kvCache?.dtype ?? pipeline.transformer.activationType(precision)
        // The memory plan, before any work: a stream that cannot fit the budget, or needs a buffer larger than the
        // device makes, is refused here, naming the stage; the decode takes the plan's tiles.
        let plan = try WanStreamPlanner.plan(
            parts,
            WanStreamRequest(
                width: settings.width, height: settings.height, latentFrames: latentFrames, chunkFrames: chunkFrames,
                windowFrames: attentionWindow?.frames, sinkFrames: attentionWindow?.sinkFrames ?? 0,
                cacheType: cacheType, prompts: 1 + switches.count, startPicture: keyframe != nil,
                precision: precision),
            device: pipeline.arena.device)
        try plan.checkBudget()
        try plan.checkDeviceBuffers()
        Self.note(
            "plan: peak \(ByteCount(plan.peakBytes)) at the \(plan.peakStage) stage of a \(ByteCount(plan.budget)) "
                + "budget (KV cache \(ByteCount(plan.stream.kvCacheBytes)) at most)")
        let tiles = try vaeTiling == .auto
            ? plan.tiles
            : pipeline.decodeTiles(shape: [1, shape[1], 1, shape[3], shape[4]], tiling: vaeTiling.tiling)
        let writer = try VideoWriter(
            url: outputURL,
            settings: VideoSettings(
                codec: codec, frameRate: frameRate, crf: crf,
                metadata: [
                    "comment": UpscaleCommand.json([
                        "prompt": prompt, "seed": "\(seed)", "frames": "\(videoFrames)", "fps": frameRate.description,
                        "size": "\(settings.width)x\(settings.height)", "mode": "autoregressive",
                        "schedule": schedule.rawValue, "chunk_frames": "\(chunkFrames)", "kv_cache": cacheType.rawValue,
                        "window": window.map { "\($0)" } ?? "none",
                        "sink": attentionWindow.map { "\($0.sinkFrames)" } ?? "none",
                        "model": URL(fileURLWithPath: modelArguments.model).lastPathComponent,
                    ])
                ]))
        let previewWriter = try preview.map { path in
            var settings = VideoSettings(codec: .h264, frameRate: frameRate, crf: 23, preset: "veryfast")
            settings.live = true
            return try VideoWriter(url: URL(fileURLWithPath: path), settings: settings)
        }
        if videoFrames != asked {
            Self.note("\(asked) frames asked; the stream makes whole chunks of \(chunkFrames) latent frames: "
                + "\(videoFrames) frames")
        }
        let chunks = (latentFrames - start) / chunkFrames
        let steps = schedule.schedule.timesteps.count
        Self.note("autoregressive Wan on \(pipeline.arena.device.physical.name): \(chunks) chunks of "
            + "\(chunkFrames) latent frames, \(videoFrames) frames of \(settings.width)x\(settings.height), "
            + "\(steps) steps a chunk (\(schedule.rawValue)), \(pipeline.transformer.activationType(precision)) "
            + "activations, \(cacheType) KV cache")

        // Every prompt is encoded before the stream starts, by one load of the text encoder.
        let text = try pipeline.encodePrompts(settings).prompt
        var switchTexts: [Tensor] = []
        for entry in switches {
            var switched = settings
            switched.prompt = entry.text
            switchTexts.append(try pipeline.encodePrompts(switched).prompt)
        }
        pipeline.releaseDenoisingWeights()
        var nextSwitch = 0
        let loop = try WanAutoregressiveLoop(
            causal: try WanCausalTransformer(
                transformer: pipeline.transformer, arena: pipeline.arena, cacheType: cacheType,
                window: attentionWindow, precision: precision), text: text,
            schedule: schedule.schedule, chunkFrames: chunkFrames, frameShape: (shape[1], shape[3], shape[4]),
            seed: seed)
        let stream = WanLatentStream(
            vae: pipeline.vae, arena: pipeline.arena, tiles: tiles, cacheType: plan.request.decoderCacheType,
            precision: precision)
        let loopStarted = Date()
        var firstFrame: Double?
        let startLatent = try keyframe.map { try pipeline.keyframeLatent($0) }
        for index in (startLatent == nil ? 1 : 0)...chunks {
            let chunkStarted = Date()
            // A switch whose time has come takes effect at this chunk: the chunk's first video frame is
            // 1 + temporal · (latent frame − 1).
            let chunkFirstFrame = loop.frames == 0 ? 0 : 1 + temporal * (loop.frames - 1)
            let chunkTime = frameRate.duration(ofFrames: chunkFirstFrame)
            var switchedTo: Int?
            while nextSwitch < switches.count, switches[nextSwitch].seconds <= chunkTime {
                switchedTo = nextSwitch
                nextSwitch += 1
            }
            if let switchedTo {
                try loop.switchPrompt(to: switchTexts[switchedTo])
                Self.note(String(
                    format: "prompt from frame %d (%.2f s): %@", chunkFirstFrame, chunkTime, switches[switchedTo].text))
            }
            let chunk = try startLatent.flatMap { index == 0 ? try loop.start(from: $0, frames: 1) : nil }
                ?? loop.next()
            let broken = chunk.latents.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
            guard broken == 0 else {
                throw PipelineError.nonFinite(count: broken, total: chunk.latents.count, model: modelArguments.model)
            }
            var made = 0
            try stream.decode(chunk.latents, shape: chunk.shape) { piece in
                for picture in try Self.videoFrames(piece) {
                    try writer.append(frame: picture)
                    try previewWriter?.append(frame: picture)
                }
                made += piece.count
                if firstFrame == nil { firstFrame = Date().timeIntervalSince(loopStarted) }
            }
            let seconds = Date().timeIntervalSince(chunkStarted)
            let label = index == 0 ? "keyframe" : String(format: "chunk %d/%d", index, chunks)
            Self.note(String(
                format: "%@: frames %d-%d in %.2f s (%.1f frames/s), cache %@", label, stream.framesDecoded - made,
                stream.framesDecoded - 1, seconds, Double(made) / seconds,
                ByteCount(UInt64(loop.cache.bytes)).description))
        }
        try previewWriter?.finish()
        try writer.finish()
        let total = Date().timeIntervalSince(loopStarted)
        Self.note(String(
            format: "first frame after %.2f s; %d frames in %.2f s (%.1f frames/s)", firstFrame ?? 0,
            writer.frameCount, total, Double(writer.frameCount) / total))
        Self.note(String(
            format: "wrote %@ (%d frames, %dx%d, %@ fps, seed %llu) in %.1f s", output, writer.frameCount,
            settings.width, settings.height, frameRate.description, seed, Date().timeIntervalSince(started)))
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
