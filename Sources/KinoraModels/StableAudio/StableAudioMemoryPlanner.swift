import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// One stage of a Stable Audio generation as planned.
public struct StableAudioStagePlan: Codable, Sendable, Equatable {
    /// "text encoding", "audio encoding" (audio-to-audio only), "denoise" or "decode".
    public var stage: String
    /// The weights on the device at the stage: every model used so far, as `StableAudioPipeline` keeps them.
    public var weightBytes: UInt64
    /// The device bytes at the stage's highest: weights, carried tensors, the graph's constants, activations and
    /// outputs, as the allocator rounds them.
    public var peakBytes: UInt64
    /// The largest single buffer of the stage.
    public var largestBufferBytes: UInt64
}

/// The device memory of a Stable Audio generation stage by stage (`StableAudioMemoryPlanner`).
public struct StableAudioMemoryPlan: Codable, Sendable {
    public var stages: [StableAudioStagePlan]
    /// Latent frames the model makes whatever the span asked (its `sample_size`).
    public var latentFrames: Int
    public var guidance: Bool
    /// The activation types the DiT and the VAE run in (`StableAudioPipeline.precision` resolved per model); the
    /// conditioning is carried in the DiT's.
    public var transformerActivations: DType
    public var vaeActivations: DType

    public var peakBytes: UInt64 { stages.map(\.peakBytes).max() ?? 0 }
    public var peakStage: String? { stages.max { $0.peakBytes < $1.peakBytes }?.stage }
}

/// Plans a Stable Audio generation as `StableAudioPipeline` runs it, from its models' recorded graphs: the prompts
/// through the T5 encoder and the projection (its weights then stay), one DiT pass (a batch of 2 with guidance) over
/// the model's `sample_size` latent frames with the conditioning carried, and the Oobleck decode of the window in
/// chunks of `StableAudioPipeline.decodeChunkFrames` with their context — the span asked is cut from it afterwards,
/// so the memory does not depend on it. With `initialAudio`, the Oobleck encode of the window's initial audio and its
/// posterior sample between the text and the DiT, in chunks of `StableAudioPipeline.encodeChunkFrames` with their
/// context (the VAE's encoder weights are released after it). Weights are
/// counted from their stores (so models over shape-only weights plan full-size checkpoints without uploading them);
/// what a recording allocates beside weights (token embeddings, rotary tables) is measured. Each model's graphs are
/// recorded in the activation type it runs in at `precision` (`StableAudioPipeline.precision`; nil: each its weights'
/// type), the chunks chosen for it, and the conditioning carried in the DiT's.
public enum StableAudioMemoryPlanner {
    public static func plan(
        textEncoder: UMT5EncoderModel, projection: StableAudioProjectionModel, transformer: StableAudioDiTModel,
        vae: AutoencoderOobleck, promptTokens: Int, guidance: Bool, initialAudio: Bool = false, device: GPUDevice,
        precision: ActivationPrecision? = nil
    ) throws -> StableAudioMemoryPlan {
        let memory = device.memory
        let arena = ActivationArena(device: device)
        func weights(_ store: any WeightStore, _ shapes: [(name: String, shape: [Int])]) -> UInt64 {
            memory.allocationSize(ofTensors: shapes.map(\.name), in: store)
        }
        func constants(_ models: [DeviceWeights], _ record: () throws -> Void) throws -> UInt64 {
            try DeviceWeights.constantBytes(of: models, on: memory, during: record)
        }
        let batch = guidance ? 2 : 1
        let (dit, vaeType) = (transformer.activationType(precision), vae.activationType(precision))
        let conditioningDim = projection.configuration.conditioningDim
        // The token embedding stays memory-mapped on the host (its rows are gathered there), and decoding reads the
        // VAE's decoder alone.
        let textWeights =
            weights(
                textEncoder.weights.store,
                UMT5EncoderModel.parameterShapes(textEncoder.configuration).filter { $0.name != "shared.weight" })
            + weights(projection.weights.store, StableAudioProjectionModel.parameterShapes(projection.configuration))
        let ditWeights = weights(
            transformer.weights.store, StableAudioDiTModel.parameterShapes(transformer.configuration))
        let vaeWeights = weights(
            vae.weights.store,
            AutoencoderOobleck.parameterShapes(vae.configuration).filter { $0.name.hasPrefix("decoder.") })
        let tokens = promptTokens + projection.configuration.secondsTokens
        let globalDim = projection.configuration.globalDim
        let carried =
            memory.allocationSize(for: UInt64(batch * tokens * conditioningDim * dit.size))
            + memory.allocationSize(for: UInt64(batch * globalDim * dit.size))

        // Text: the prompts (and the negative one with guidance) encoded and projected with the seconds tokens.
        let textGraph = Graph(arena: arena)
        var textOutputs: [Value] = []
        let textConstants = try constants([textEncoder.weights, projection.weights]) {
            let rows = guidance ? 2 : 1
            let ids = [[Int]](repeating: [Int](repeating: 1, count: promptTokens), count: rows)
            let (conditioning, global) = try projection.recordConditioning(
                textGraph, textEncoder: textEncoder, ids: ids, attentionMask: ids,
                secondsStart: [Float](repeating: 0, count: rows), secondsEnd: [Float](repeating: 1, count: rows),
                precision: precision)
            textOutputs = [try textGraph.cast(conditioning, to: dit), try textGraph.cast(global, to: dit)]
        }
        let textPlan = try textGraph.memoryPlan(textOutputs)
        let text = StableAudioStagePlan(
            stage: "text encoding", weightBytes: textWeights,
            peakBytes: textWeights + textConstants + textPlan.allocatedPeakBytes,
            largestBufferBytes: textPlan.largestBufferBytes)

        // Audio encoding: the window's audio through the encoder and the posterior sampled, one chunk and its context
        // at a time (`AutoencoderOobleck.encodeChunks`), the conditioning carried.
        var encode: StableAudioStagePlan?
        if initialAudio {
            let encoderWeights = weights(
                vae.weights.store,
                AutoencoderOobleck.parameterShapes(vae.configuration).filter { $0.name.hasPrefix("encoder.") })
            let frames = transformer.configuration.sampleSize
            let encodeChunk = try vae.encodeChunkFrames(
                preferred: StableAudioPipeline.encodeChunkFrames, maxBufferBytes: memory.maxBufferSize, arena: arena,
                activations: vaeType)
            let chunk =
                vae.encodesInChunks && frames > encodeChunk
                ? min(frames, encodeChunk + 2 * vae.encodeContextFrames) : frames
            let audio = [1, vae.configuration.audioChannels, chunk * vae.configuration.hopLength]
            let encodeGraph = Graph(arena: arena)
            encodeGraph.activationDType = vaeType
            var sample: Value?
            let encodeConstants = try constants([vae.weights]) {
                let (mean, std) = try vae.encode(encodeGraph, encodeGraph.placeholder(shape: audio))
                sample = try vae.sample(
                    encodeGraph, mean: mean, std: std, noise: encodeGraph.placeholder(shape: mean.shape))
            }
            let encodePlan = try encodeGraph.memoryPlan([sample!])
            let inputs =
                memory.allocationSize(for: UInt64(audio.reduce(4, *)))
                + memory.allocationSize(for: UInt64(sample!.shape.reduce(4, *)))
            encode = StableAudioStagePlan(
                stage: "audio encoding", weightBytes: textWeights + encoderWeights,
                peakBytes: textWeights + encoderWeights + carried + inputs + encodeConstants
                    + encodePlan.allocatedPeakBytes,
                largestBufferBytes: encodePlan.largestBufferBytes)
            withExtendedLifetime(encodeGraph) {}
        }

        // Denoise: one DiT pass over the latents (both halves at once with guidance), the conditioning carried.
        let latent = [batch, transformer.configuration.inChannels, transformer.configuration.sampleSize]
        let latentBytes = memory.allocationSize(for: UInt64(latent.reduce(4, *)))
        let ditGraph = Graph(arena: arena)
        ditGraph.activationDType = dit
        var prediction: Value?
        let ditConstants = try constants([transformer.weights]) {
            prediction = try transformer(
                ditGraph, hiddenStates: ditGraph.placeholder(shape: latent), timestep: [0.5],
                encoderHiddenStates: ditGraph.placeholder(shape: [batch, tokens, conditioningDim], dtype: dit),
                globalHiddenStates: ditGraph.placeholder(shape: [batch, 1, globalDim], dtype: dit))
        }
        let ditPlan = try ditGraph.memoryPlan([prediction!])
        let denoise = StableAudioStagePlan(
            stage: "denoise", weightBytes: textWeights + ditWeights,
            peakBytes: textWeights + ditWeights + carried + latentBytes + ditConstants + ditPlan.allocatedPeakBytes,
            largestBufferBytes: ditPlan.largestBufferBytes)

        // Decode: one chunk and its context at a time (`AutoencoderOobleck.decodeChunks`), the whole audio held on
        // the host.
        let frames = transformer.configuration.sampleSize
        let decodeChunk = try vae.decodeChunkFrames(
            preferred: StableAudioPipeline.decodeChunkFrames, maxBufferBytes: memory.maxBufferSize, arena: arena,
            activations: vaeType)
        let chunk =
            vae.decodesInChunks && frames > decodeChunk
            ? min(frames, decodeChunk + 2 * vae.decodeContextFrames) : frames
        let decodeGraph = Graph(arena: arena)
        decodeGraph.activationDType = vaeType
        var audio: Value?
        let decodeConstants = try constants([vae.weights]) {
            audio = try vae.decode(
                decodeGraph, decodeGraph.placeholder(shape: [1, transformer.configuration.inChannels, chunk]))
        }
        let decodePlan = try decodeGraph.memoryPlan([audio!])
        let decodeWeights = textWeights + ditWeights + vaeWeights
        let decode = StableAudioStagePlan(
            stage: "decode", weightBytes: decodeWeights,
            peakBytes: decodeWeights + carried
                + memory.allocationSize(for: UInt64(transformer.configuration.inChannels * chunk * 4))
                + decodeConstants + decodePlan.allocatedPeakBytes,
            largestBufferBytes: decodePlan.largestBufferBytes)
        withExtendedLifetime((textGraph, ditGraph, decodeGraph)) {}
        arena.trim()
        return StableAudioMemoryPlan(
            stages: [text] + (encode.map { [$0] } ?? []) + [denoise, decode],
            latentFrames: transformer.configuration.sampleSize, guidance: guidance, transformerActivations: dit,
            vaeActivations: vaeType)
    }
}
