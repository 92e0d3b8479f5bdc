import KinoraGPU
import KinoraTensor

/// Self-Forcing's and CausVid's inference loop (`CausalInferencePipeline.inference`) as an iterator: each `next()`
/// makes the next chunk of latent frames and returns it while the caller streams it on (decode, encode). A chunk
/// starts from Gaussian noise; at each step of the schedule the causal transformer predicts the flow over the KV
/// cache, the clean estimate is `x0 = xₜ − σₜ·v` (in float64, as `_convert_flow_pred_to_x0`), and before the next
/// step it is noised again with fresh noise, `(1 − σ)·x0 + σ·ε`; the last step's x0 is the chunk, which is then run
/// once more at timestep 0 to append its keys and values to the cache. No classifier-free guidance: the models are
/// distilled.
///
/// Noise comes from torch's CPU generator seeded with `seed` (`TorchRandom`), drawn per chunk in Self-Forcing's
/// frame-major layout [F, C, H, W]: the chunk's starting noise, then one fresh draw per step after the first.
public final class WanAutoregressiveLoop {
    /// One finished chunk.
    public struct Chunk: Sendable {
        /// The chunk's number, 0 first.
        public let index: Int
        /// Its first latent frame in the video.
        public let startFrame: Int
        /// The clean latents [1, C, F, H, W] (normalised, as the VAE's `denormalizeLatents` takes them).
        public let latents: [Float]
        public let shape: [Int]
    }

    /// Where the loop is: after each transformer pass.
    public struct Progress: Sendable, Equatable {
        public var chunk: Int
        /// The denoising step just done (0-based), or `steps` for the pass that fills the cache.
        public var step: Int
        public var steps: Int
    }

    public let causal: WanCausalTransformer
    public let schedule: CausalDenoisingSchedule
    /// Latent frames per chunk (Self-Forcing's `num_frame_per_block`, 3).
    public let chunkFrames: Int
    /// A latent frame's channels, height and width.
    public let frameShape: (channels: Int, height: Int, width: Int)
    /// The prompt's embeddings [1, L_text, text_dim]; `switchPrompt(to:)` changes them mid-stream.
    public var text: Tensor { prompt.text }
    /// The prompt's cross-attention keys and values, computed once per prompt.
    var prompt: WanTextKeyValues
    /// The clean latents [C, h, w] of the frames the cache holds, in its order (for a prompt switch's re-cache).
    var keptLatents: [[Float]] = []
    /// The keys and values of every finished chunk.
    public internal(set) var cache = WanKVCache()
    var random: TorchRandom
    var chunksMade = 0

    /// Checks the sizes against the transformer: channels, a frame the patch divides.
    public init(
        causal: WanCausalTransformer, text: Tensor, schedule: CausalDenoisingSchedule = .selfForcing,
        chunkFrames: Int = 3, frameShape: (channels: Int, height: Int, width: Int), seed: UInt64
    ) throws {
        let configuration = causal.transformer.configuration
        guard chunkFrames >= 1 else { throw CausalScheduleError.invalid(reason: "\(chunkFrames) frames a chunk") }
        guard frameShape.channels == configuration.inChannels, frameShape.height % configuration.patchSize[1] == 0,
            frameShape.width % configuration.patchSize[2] == 0, frameShape.height > 0, frameShape.width > 0
        else {
            throw WanTransformerError.invalidLatent(
                shape: [1, frameShape.channels, chunkFrames, frameShape.height, frameShape.width],
                reason: "a latent frame needs \(configuration.inChannels) channels and sides the patch "
                    + "\(configuration.patchSize) divides")
        }
        self.causal = causal
        prompt = try causal.textKeyValues(text)
        self.schedule = schedule
        self.chunkFrames = chunkFrames
        self.frameShape = frameShape
        random = TorchRandom(seed: seed)
    }

    /// The latent frames made so far.
    public var frames: Int { cache.frames }

    /// Starts the video from `latents` [1, C, F, h, w] (normalised; a keyframe's VAE latent, F = 1): they become
    /// the first clean frames in the cache, as Self-Forcing's `initial_latent` (its image-to-video with
    /// `independent_first_frame`), and come back as chunk 0 for the decode. Only before the first chunk.
    public func start(from latents: [Float], frames count: Int) throws -> Chunk {
        let (channels, height, width) = frameShape
        let shape = [1, channels, count, height, width]
        guard cache.isEmpty, chunksMade == 0 else {
            throw CausalScheduleError.invalid(reason: "a video starts from a picture only before its first chunk")
        }
        guard count >= 1, latents.count == shape.reduce(1, *) else {
            throw WanTransformerError.invalidLatent(
                shape: shape, reason: "\(latents.count) values for a start of \(count) latent frames")
        }
        cache = try causal.extend(cache, with: Tensor(latents, shape: shape, on: causal.arena.device), text: prompt)
        keep(latents, frames: count)
        defer { chunksMade += 1 }
        return Chunk(index: chunksMade, startFrame: 0, latents: latents, shape: shape)
    }

    /// Makes the next chunk and appends it to the cache.
    public func next(progress: (Progress) -> Void = { _ in }) throws -> Chunk {
        let (channels, height, width) = frameShape
        let shape = [1, channels, chunkFrames, height, width]
        let device = causal.arena.device
        let steps = schedule.timesteps.count
        var latents = drawNoise()
        var clean: [Float] = []
        for (step, timestep) in schedule.timesteps.enumerated() {
            let flow = try causal.predict(
                Tensor(latents, shape: shape, on: device), timesteps: [Float](repeating: timestep, count: chunkFrames),
                text: prompt, cache: cache
            ).floats()
            let sigma = schedule.sigma(timestep)
            clean = zip(latents, flow).map { Float(Double($0) - sigma * Double($1)) }
            if step + 1 < steps {
                let next = Float(schedule.sigma(schedule.timesteps[step + 1]))
                latents = zip(clean, drawNoise()).map { (1 - next) * $0 + next * $1 }
            }
            progress(Progress(chunk: chunksMade, step: step, steps: steps))
        }
        let start = cache.frames
        cache = try causal.extend(cache, with: Tensor(clean, shape: shape, on: device), text: prompt)
        keep(clean, frames: chunkFrames)
        progress(Progress(chunk: chunksMade, step: steps, steps: steps))
        defer { chunksMade += 1 }
        return Chunk(index: chunksMade, startFrame: start, latents: clean, shape: shape)
    }

    /// Switches the prompt before the next chunk, as LongLive does: the frames the cache holds are run again, clean,
    /// in chunks of `chunkFrames` with the new prompt's embeddings, so their keys and values carry the new prompt
    /// (the re-cache) while the picture goes on from the same frames.
    public func switchPrompt(to text: Tensor) throws {
        prompt = try causal.textKeyValues(text)
        try recache()
    }

    /// Runs the frames the cache holds again, clean, with the current prompt (a prompt switch's re-cache).
    func recache() throws {
        let (channels, height, width) = frameShape
        let plane = height * width
        let frames = keptLatents
        // The old keys and values go first, so that the re-cache never holds two caches.
        let made = cache.frames
        cache = WanKVCache()
        var rebuilt = WanKVCache()
        for start in stride(from: 0, to: frames.count, by: chunkFrames) {
            let group = Array(frames[start..<min(start + chunkFrames, frames.count)])
            var latents = [Float](repeating: 0, count: channels * group.count * plane)
            for (frame, values) in group.enumerated() {
                for channel in 0..<channels {
                    let target = (channel * group.count + frame) * plane
                    latents.replaceSubrange(
                        target..<(target + plane), with: values[(channel * plane)..<((channel + 1) * plane)])
                }
            }
            let shape = [1, channels, group.count, height, width]
            rebuilt = try causal.extend(
                rebuilt, with: Tensor(latents, shape: shape, on: causal.arena.device), text: prompt)
        }
        rebuilt.frames = made
        cache = rebuilt
    }

    /// Appends a chunk's clean latents [C, F, h, w] to those the cache holds, dropping what its window dropped.
    func keep(_ latents: [Float], frames count: Int) {
        let (channels, height, width) = frameShape
        let plane = height * width
        for frame in 0..<count {
            keptLatents.append(
                (0..<channels).flatMap { channel -> ArraySlice<Float> in
                    let start = (channel * count + frame) * plane
                    return latents[start..<(start + plane)]
                })
        }
        let kept = cache.keptFrames
        guard keptLatents.count > kept, let window = causal.window else { return }
        let sink = min(window.sinkFrames, kept)
        keptLatents = Array(keptLatents[0..<sink]) + Array(keptLatents.suffix(kept - sink))
    }

    /// One chunk of N(0, 1) noise, drawn [F, C, H, W] and returned [C, F, H, W].
    func drawNoise() -> [Float] {
        let (channels, height, width) = frameShape
        let plane = height * width
        let drawn = random.normal(count: chunkFrames * channels * plane)
        var noise = [Float](repeating: 0, count: drawn.count)
        for frame in 0..<chunkFrames {
            for channel in 0..<channels {
                let source = (frame * channels + channel) * plane
                let target = (channel * chunkFrames + frame) * plane
                noise.replaceSubrange(target..<(target + plane), with: drawn[source..<(source + plane)])
            }
        }
        return noise
    }
}
