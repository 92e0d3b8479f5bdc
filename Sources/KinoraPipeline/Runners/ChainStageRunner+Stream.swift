import Foundation
import KinoraGPU
import KinoraMedia
import KinoraModels
import KinoraTensor

/// The stages of a `motion: stream` shot, run by the causal Wan (`WanAutoregressiveLoop`) on the shot's Wan
/// pipeline, as `kinora video --autoregressive` runs it, but one chunk per stage so that each finished chunk is
/// cached at once and a killed render resumes at the chunk it was making.
///
/// The loop of the chunk made last stays live, so the next chunk of its stream goes on over its KV cache. A chunk
/// whose stream is not live (the chunk before it came from the cache, or the denoiser was evicted between them)
/// rebuilds the loop from the finished chunks' latents (`WanAutoregressiveLoop.resume`), to the bit what the live
/// loop would hold.
///
/// Results on disk: a chunk writes its clean latents (`latents.kf32`, [1, z_dim, chunk_frames, h, w]) and, after the
/// first, `previous`: the cache entry name of the chunk before it, which the chunk reads as its input. A rebuild
/// follows these names back through the chunks' entries (siblings in the cache), so that a chunk need not take
/// every chunk before it as an input, which would make a long stream's graph quadratic. The decode writes the clip
/// (`clip.mkv`, FFV1) chunk by chunk, the VAE's feature cache carried, so no clip is held.
extension ChainStageRunner {
    /// The loop of the chunk stage that ran last and the pipeline it runs on.
    final class LiveStream {
        let stage: String
        let loop: WanAutoregressiveLoop
        let pipeline: WanVideoPipeline

        init(stage: String, loop: WanAutoregressiveLoop, pipeline: WanVideoPipeline) {
            self.stage = stage
            self.loop = loop
            self.pipeline = pipeline
        }
    }

    /// Makes one chunk of a stream: continues the live loop when it made the chunk before, else builds the loop
    /// from the prompt in effect, the start picture and the chunks before; switches the prompt at the chunk where
    /// the schedule says. Progress is the chunk's video frames, in proportion to its transformer passes.
    func makeStreamChunk(_ stage: Stage, pipeline: WanVideoPipeline, model: (any StageModel)?,
                         input: (Int) throws -> URL, into folder: URL, progress: @escaping (Int) -> Void) throws {
        let index = try int(stage, "chunk"), promptFrom = try int(stage, "prompt_from")
        let startPicture = stage.parameters.bool("keyframe") == true
        // The prompt goes to the device only when the loop takes it: a live loop holds its own.
        func text() throws -> Tensor {
            let (values, shape) = try readFinite("prompt.kf32", in: input(0), for: stage)
            return try Tensor(values, shape: shape, on: device)
        }
        let previous = index > 0 ? try input(stage.inputs.count - 1) : nil
        let loop: WanAutoregressiveLoop
        if let live = liveStream, index > 0, live.stage == stage.inputs.last, live.pipeline === pipeline {
            loop = live.loop
            liveStream = nil
            if promptFrom == index { try loop.switchPrompt(to: text()) }
        } else {
            // The old loop's cache goes before the new one is built.
            liveStream = nil
            loop = try streamLoop(stage, pipeline: pipeline, text: text())
            let start = try startPicture ? readFinite("keyframe.kf32", in: input(1), for: stage).values : nil
            let history = try previous.map { try streamHistory(stage, back: $0, chunks: index) } ?? []
            try loop.resume(start: start, chunks: index, promptFrom: promptFrom) {
                try readFinite("latents.kf32", in: history[$0], for: stage).values
            }
        }
        let frames = stage.steps
        let chunk = try loop.next { done in
            progress(frames * (done.step + 1) / (done.steps + 1))
        }
        try requireFinite(chunk.latents, "latents", of: stage, model: model)
        try FloatArrayFile.write(chunk.latents, shape: chunk.shape, to: folder.appendingPathComponent("latents.kf32"))
        if let previous {
            try Data(previous.lastPathComponent.utf8).write(to: folder.appendingPathComponent("previous"))
        }
        liveStream = LiveStream(stage: stage.id, loop: loop, pipeline: pipeline)
    }

    /// A fresh loop for `stage`'s stream with the prompt `text`: its size, chunk, schedule, window, cache storage
    /// and seed, its activations in the pipeline's precision.
    private func streamLoop(_ stage: Stage, pipeline: WanVideoPipeline, text: Tensor) throws -> WanAutoregressiveLoop {
        let settings = WanVideoSettings(
            prompt: "", width: try int(stage, "width"), height: try int(stage, "height"), frames: 1, steps: 1,
            guidanceScale: 1, seed: stage.seed ?? 0)
        let shape = try pipeline.latentShape(settings)
        let frames = try int(stage, "window")
        let window = frames > 0 ? try WanAttentionWindow(frames: frames, sinkFrames: int(stage, "sink")) : nil
        guard let cacheType = DType(rawValue: try string(stage, "kv_cache")) else {
            throw RunnerError.unsupported(stage: stage.id, reason: "unknown KV cache storage")
        }
        let causal = try WanCausalTransformer(
            transformer: pipeline.transformer, arena: pipeline.arena, cacheType: cacheType, window: window,
            precision: pipeline.precision)
        return try WanAutoregressiveLoop(
            causal: causal, text: text, schedule: try string(stage, "schedule") == "causvid" ? .causVid : .selfForcing,
            chunkFrames: try int(stage, "chunk_frames"), frameShape: (shape[1], shape[3], shape[4]),
            seed: stage.seed ?? 0)
    }

    /// The entry folders of a stream's first `chunks` chunks, first first, followed back from `last`'s `previous`.
    private func streamHistory(_ stage: Stage, back last: URL, chunks: Int) throws -> [URL] {
        var folders = [last]
        while folders.count < chunks, let newest = folders.last {
            let pointer = newest.appendingPathComponent("previous")
            guard let name = try? String(contentsOf: pointer, encoding: .utf8), !name.isEmpty, !name.contains("/")
            else {
                throw RunnerError.invalidInput(stage: stage.id, file: pointer.path,
                                               reason: "a stream chunk's entry does not name the chunk before it")
            }
            let folder = newest.deletingLastPathComponent().appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("latents.kf32").path) else {
                throw RunnerError.invalidInput(
                    stage: stage.id, file: folder.path,
                    reason: "chunk \(chunks - folders.count) of the stream, which the KV cache is rebuilt from, is "
                        + "gone from the cache; render with --no-cache, or remove the stream's later chunks")
            }
            folders.append(folder)
        }
        return folders.reversed()
    }

    /// Decodes a stream's chunks (after its start picture's latent, when it has one) into the clip, one after the
    /// other with the VAE's feature cache carried, each chunk's frames written as they come.
    func decodeStream(_ stage: Stage, pipeline: WanVideoPipeline, model: (any StageModel)?, inputs: [URL],
                      into folder: URL, progress: (Int) -> Void) throws {
        let fps = try number(stage, "fps")
        let writer = try VideoWriter(
            url: folder.appendingPathComponent("clip.mkv"),
            settings: VideoSettings(codec: .ffv1, frameRate: FrameRate(parsing: YAMLField.format(fps))))
        let startPicture = stage.parameters.bool("keyframe") == true
        let featureName = try string(stage, "feature_cache")
        guard let featureCache = DType(rawValue: featureName), Graph.activationDTypes.contains(featureCache) else {
            throw RunnerError.unsupported(stage: stage.id, reason: "unknown feature cache type '\(featureName)'")
        }
        var stream: WanLatentStream?
        var made = 0
        for (index, url) in inputs.enumerated() {
            let (values, shape) = try readFinite(
                startPicture && index == 0 ? "keyframe.kf32" : "latents.kf32", in: url, for: stage)
            let decoder = try stream ?? {
                let tiles = try pipeline.decodeTiles(shape: [1, shape[1], 1, shape[3], shape[4]], tiling: .auto)
                return WanLatentStream(vae: pipeline.vae, arena: pipeline.arena, tiles: tiles,
                                       cacheType: featureCache, precision: pipeline.precision)
            }()
            stream = decoder
            try decoder.decode(values, shape: shape) { piece in
                try requireFinite(piece.rgb, "frames", of: stage, model: model)
                let plane = piece.width * piece.height * 3
                for frame in 0..<piece.count {
                    let values = Array(piece.rgb[(frame * plane)..<((frame + 1) * plane)])
                    try writer.append(frame: VideoFrame(width: piece.width, height: piece.height, rgbFloat: values))
                }
                made += piece.count
                progress(made)
            }
        }
        try writer.finish()
    }
}
