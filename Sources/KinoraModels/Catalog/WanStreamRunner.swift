import Foundation
import KinoraGPU
import KinoraTensor

/// Runs the stream stage of an autoregressive Wan plan as `kinora video --autoregressive` does, over stand-in
/// prompt embeddings (and a stand-in start latent): the causal transformer and the VAE's decoder built on the
/// device, Self-Forcing's loop making chunks over the KV cache and each chunk decoded at once with the feature cache
/// carried; the prompt switches to the next one halfway when the plan has several. Timed, with the allocator's peak
/// measured against the plan's. For benchmarks and for checking the plan; the frames are thrown away.
public struct WanStreamRunner {
    /// What a run measured.
    public struct Measurement: Codable, Sendable, Equatable {
        /// Chunks made after the start picture.
        public var chunks: Int
        /// Video frames decoded.
        public var videoFrames: Int
        /// From the loop's start (the models built, nothing uploaded) to the first decoded frame.
        public var secondsToFirstFrame: Double
        /// Seconds of each chunk, made and decoded (the first uploads the weights).
        public var chunkSeconds: [Double]
        /// Video frames a second over the chunks after the first.
        public var framesPerSecond: Double
        /// The KV cache's bytes after the last chunk.
        public var kvCacheBytes: UInt64
        public var predictedPeakBytes: UInt64
        /// The allocator's peak during the run, above what was live before it.
        public var measuredPeakBytes: UInt64
    }

    public let components: WanStageComponents
    public let plan: WanStreamPlan
    public let device: GPUDevice

    public init(components: WanStageComponents, plan: WanStreamPlan, device: GPUDevice) {
        self.components = components
        self.plan = plan
        self.device = device
    }

    /// Makes and decodes `chunks` chunks (at least 1), from a trimmed device.
    public func run(chunks: Int, schedule: CausalDenoisingSchedule = .selfForcing) throws -> Measurement {
        let request = plan.request
        let memory = device.memory
        memory.trim()
        let before = memory.liveBytes
        memory.resetPeak()
        var random = SplitMix(seed: 5)
        let textShape = [1, UMT5EncoderModel.wanMaxSequenceLength, components.textEncoder.dModel]
        let prompts = try (0..<request.prompts).map { _ in
            try Tensor((0..<textShape.reduce(1, *)).map { _ in 0.1 * random.normal() }, shape: textShape, on: device)
        }
        let latent = try components.latentShape(width: request.width, height: request.height, frames: 1)
        let started = Date()
        let arena = ActivationArena(device: device)
        let causal = try WanCausalTransformer(
            transformer: components.makeTransformer(device: device), arena: arena, cacheType: request.cacheType,
            window: WanStreamPlanner.window(request), precision: request.precision)
        let loop = try WanAutoregressiveLoop(
            causal: causal, text: prompts[0], schedule: schedule, chunkFrames: request.chunkFrames,
            frameShape: (latent[1], latent[3], latent[4]), seed: 0)
        let stream = WanLatentStream(
            vae: try components.makeAutoencoder(device: device), arena: arena, tiles: plan.tiles,
            cacheType: request.decoderCacheType, precision: request.precision)
        var firstFrame: Double?
        var chunkSeconds: [Double] = []
        let count = max(1, chunks)
        if request.startPicture {
            let values = (0..<latent.reduce(1, *)).map { _ in random.normal() }
            let picture = try loop.start(from: values, frames: 1)
            try stream.decode(picture.latents, shape: picture.shape) { _ in
                if firstFrame == nil { firstFrame = Date().timeIntervalSince(started) }
            }
        }
        for index in 0..<count {
            let chunkStarted = Date()
            if request.prompts > 1, index == count / 2 { try loop.switchPrompt(to: prompts[1]) }
            let chunk = try loop.next()
            try stream.decode(chunk.latents, shape: chunk.shape) { _ in
                if firstFrame == nil { firstFrame = Date().timeIntervalSince(started) }
            }
            chunkSeconds.append(Date().timeIntervalSince(chunkStarted))
        }
        let steady = chunkSeconds.dropFirst().reduce(0, +)
        let framesPerChunk = request.chunkFrames * components.vae.temporalCompression
        let measurement = Measurement(
            chunks: count, videoFrames: stream.framesDecoded, secondsToFirstFrame: firstFrame ?? 0,
            chunkSeconds: chunkSeconds,
            framesPerSecond: count > 1 ? Double(framesPerChunk * (count - 1)) / steady : 0,
            kvCacheBytes: UInt64(loop.cache.bytes), predictedPeakBytes: plan.stream.peakBytes,
            measuredPeakBytes: memory.peakBytes - min(memory.peakBytes, before))
        withExtendedLifetime(prompts) {}
        return measurement
    }
}
