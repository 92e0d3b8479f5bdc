import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// One stage of a MusicGen generation as planned.
public struct MusicGenStagePlan: Codable, Sendable, Equatable {
    /// "text encoding", "generation" or "audio decode".
    public var stage: String
    /// The weights on the device at the stage: every model used so far, as `MusicGenPipeline` keeps them.
    public var weightBytes: UInt64
    /// The stage's carried tensors: the KV cache while generating.
    public var cacheBytes: UInt64
    /// The device bytes at the stage's highest, as the allocator rounds them.
    public var peakBytes: UInt64
    public var largestBufferBytes: UInt64
}

/// The device memory of a MusicGen generation stage by stage (`MusicGenMemoryPlanner`).
public struct MusicGenMemoryPlan: Codable, Sendable {
    public var stages: [MusicGenStagePlan]
    /// Code frames of the longest generate call (a window) and of its audio prompt (the continued frames).
    public var windowFrames: Int
    public var promptFrames: Int
    public var guidance: Bool
    /// The activation types the models run in (`MusicGenPipeline.precision` resolved per model); the KV cache is
    /// stored in the decoder's.
    public var textEncoderActivations: DType
    public var decoderActivations: DType
    public var codecActivations: DType

    public var peakBytes: UInt64 { stages.map(\.peakBytes).max() ?? 0 }
    public var peakStage: String? { stages.max { $0.peakBytes < $1.peakBytes }?.stage }
}

/// Plans a MusicGen generation as `MusicGenPipeline` runs it, from the recorded graphs over placeholders: the prompt
/// through T5 (its weights then stay), then the decoder's generate calls — the KV cache sized for a window's
/// positions, the text keys and values, and the larger of the pass that feeds an audio prompt at once (a
/// continued window's first call) and a one-position step — then the audio decode. Each model's graphs are recorded
/// in the activation type it runs in at `precision`, and the KV cache is sized in the decoder's. Weights are counted
/// from their stores, so models over shape-only weights plan full-size checkpoints without uploading them; the
/// codebook embeddings stay on the host.
public enum MusicGenMemoryPlanner {
    /// - Parameters:
    ///   - windowFrames: code frames of the longest generate call (a window, or the whole cue when shorter).
    ///   - promptFrames: frames fed as an audio prompt to a continued window (0 when the cue fits one window).
    ///   - codec: EnCodec, whose decode of the whole cue (`cueFrames`) is the last stage (nil: none planned).
    ///   - precision: `MusicGenPipeline.precision` (nil: each model its weights' type).
    public static func plan(
        textEncoder: UMT5EncoderModel, decoder: MusicGenDecoder, promptTokens: Int, windowFrames: Int,
        promptFrames: Int, guidance: Bool, device: GPUDevice, codec: EncodecDecoder? = nil, cueFrames: Int = 0,
        precision: ActivationPrecision? = nil
    ) throws -> MusicGenMemoryPlan {
        let memory = device.memory
        let arena = ActivationArena(device: device)
        func weights(_ store: any WeightStore, _ names: [String]) -> UInt64 {
            memory.allocationSize(ofTensors: names, in: store)
        }
        func constants(_ models: [DeviceWeights], _ record: () throws -> Void) throws -> UInt64 {
            try DeviceWeights.constantBytes(of: models, on: memory, during: record)
        }
        let configuration = decoder.configuration
        let batch = guidance ? 2 : 1
        let (textActivations, activations) = (
            textEncoder.activationType(precision), decoder.activationType(precision)
        )
        let codecActivations = codec?.activationType(precision) ?? activations
        let width = configuration.hiddenSize
        let textWeights = weights(
            textEncoder.weights.store,
            UMT5EncoderModel.parameterShapes(textEncoder.configuration).map(\.name).filter { $0 != "shared.weight" }
                .map { textEncoder.weights.prefix.isEmpty ? $0 : "\(textEncoder.weights.prefix).\($0)" })
        let scope = decoder.weights.prefix.isEmpty ? "" : decoder.weights.prefix + "."
        var decoderWeights = weights(
            decoder.weights.store,
            MusicGenDecoder.parameterShapes(configuration).map(\.name).filter { !$0.contains("embed_tokens") }
                .map { scope + $0 })
        if let projection = decoder.projection {
            let prefix = projection.prefix.isEmpty ? "" : projection.prefix + "."
            decoderWeights += weights(projection.store, [prefix + "weight", prefix + "bias"])
        }

        // Text: the prompt alone (the unconditional half is zeros, never encoded).
        let textGraph = Graph(arena: arena)
        textGraph.activationDType = textActivations
        var textOutput: Value?
        let textConstants = try constants([textEncoder.weights]) {
            textOutput = try textEncoder(
                textGraph, inputIDs: [[Int](repeating: 1, count: promptTokens)],
                attentionMask: [[Int](repeating: 1, count: promptTokens)])
        }
        let textPlan = try textGraph.memoryPlan([textOutput!])
        let text = MusicGenStagePlan(
            stage: "text encoding", weightBytes: textWeights, cacheBytes: 0,
            peakBytes: textWeights + textConstants + textPlan.allocatedPeakBytes,
            largestBufferBytes: textPlan.largestBufferBytes)

        // Generation: the cache for a window's positions (keys and values in the activation type, the additive text
        // mask f32), then the larger of the prompt's pass and a step.
        let pattern = try MusicGenDelayPattern(
            codebooks: configuration.numCodebooks, audioChannels: configuration.audioChannels, frames: windowFrames,
            pad: configuration.padTokenID)
        let capacity = pattern.positions - 1
        let element = activations.size
        let cacheBytes =
            UInt64(configuration.numHiddenLayers)
            * (2 * memory.allocationSize(for: UInt64(batch * capacity * width * element))
                + 2 * memory.allocationSize(for: UInt64(batch * promptTokens * width * element)))
            + memory.allocationSize(for: UInt64(batch * promptTokens * 4))
        var passPeak: UInt64 = 0
        var largest: UInt64 = 0
        var passConstants: UInt64 = 0
        var graphs: [Graph] = []
        for length in Set([1, promptFrames + 1]) {
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            graphs.append(graph)
            var logits: Value?
            passConstants = max(passConstants, try constants([decoder.weights]) {
                let layers = configuration.numHiddenLayers
                func cached(_ length: Int) throws -> [Value] {
                    try (0..<layers).map { _ in
                        try graph.placeholder(shape: [batch, length, width], dtype: activations)
                    }
                }
                let cache = MusicGenDecoder.CacheValues(
                    keys: try cached(capacity), values: try cached(capacity), textKeys: try cached(promptTokens),
                    textValues: try cached(promptTokens),
                    textMask: try graph.placeholder(shape: [batch, 1, 1, promptTokens]))
                logits = try decoder.record(
                    graph, inputs: graph.placeholder(shape: [batch, length, width]), start: capacity - length,
                    cache: cache, allPositions: false)
            })
            let plan = try graph.memoryPlan([logits!])
            let inputs = memory.allocationSize(for: UInt64(batch * length * width * 4))
            passPeak = max(passPeak, inputs + plan.allocatedPeakBytes)
            largest = max(largest, plan.largestBufferBytes)
        }
        let generationWeights = textWeights + decoderWeights
        let generation = MusicGenStagePlan(
            stage: "generation", weightBytes: generationWeights, cacheBytes: cacheBytes,
            peakBytes: generationWeights + cacheBytes + passConstants + passPeak,
            largestBufferBytes: max(largest, memory.allocationSize(for: UInt64(batch * capacity * width * element))))
        var stages = [text, generation]

        if let codec {
            // The codebook sums go up first ([codebook_dim, frames] f32), then the head and the pieces.
            let plan = try codec.plannedDecode(frames: cueFrames, precision: precision)
            let scope = codec.weights.prefix.isEmpty ? "" : codec.weights.prefix + "."
            let codecWeights = weights(
                codec.weights.store,
                EncodecDecoder.parameterShapes(codec.configuration).map(\.name).filter { $0.hasPrefix("decoder.") }
                    .map { scope + $0 })
            let sums = memory.allocationSize(for: UInt64(codec.configuration.codebookDim * cueFrames * 4))
            let audioWeights = generationWeights + codecWeights
            stages.append(MusicGenStagePlan(
                stage: "audio decode", weightBytes: audioWeights, cacheBytes: 0,
                peakBytes: audioWeights + sums + plan.peakBytes, largestBufferBytes: plan.largestBufferBytes))
        }
        withExtendedLifetime((textGraph, graphs)) {}
        arena.trim()
        return MusicGenMemoryPlan(
            stages: stages, windowFrames: windowFrames, promptFrames: promptFrames, guidance: guidance,
            textEncoderActivations: textActivations, decoderActivations: activations,
            codecActivations: codecActivations)
    }
}
