import Foundation
import KinoraGPU
import KinoraModels
import KinoraTensor

extension PlannedVideoStageModel {
    /// Plans the stream whose streamed `decode` stage is `decode` with `WanStreamPlanner` over the folder's weights
    /// (one plan however many chunks: with a window the plan does not grow with the stream) and records each of its
    /// stages' bytes beyond their model's weights in `activation`: the prompts' encodings (UMT5 streamed layer by
    /// layer), the keyframe's encode, every chunk (its prompt's embeddings and cross-attention keys and values, the KV
    /// cache at its largest and the larger of a denoising pass and the pass that adds the chunk to the cache: the
    /// transformer runs alone, the decoder after it) and the decode (a call with its feature cache, beside the
    /// keyframe encoder's weights, which stay uploaded). Throws when the stream cannot be made at all (its window or
    /// sizes), or needs a buffer larger than the device makes. The stream runs in `precision` (its model's).
    static func planStream(_ decode: Stage, stages: [String: Stage], parts: WanStageComponents,
                           precision: ActivationPrecision?, budget: UInt64?, device: GPUDevice,
                           into activation: inout [String: UInt64]) throws {
        let startPicture = decode.parameters.bool("keyframe") == true
        let chunks = decode.inputs.dropFirst(startPicture ? 1 : 0).compactMap { stages[$0] }
        guard let first = chunks.first else { return }
        let parameters = first.parameters
        let chunkFrames = parameters.int("chunk_frames") ?? 3
        let window = parameters.int("window") ?? 0
        let request = WanStreamRequest(
            width: parameters.int("width") ?? 0, height: parameters.int("height") ?? 0,
            latentFrames: (startPicture ? 1 : 0) + chunks.count * chunkFrames, chunkFrames: chunkFrames,
            windowFrames: window > 0 ? window : nil, sinkFrames: parameters.int("sink") ?? 0,
            cacheType: DType(rawValue: parameters.string("kv_cache") ?? "") ?? .f16,
            decoderCacheType: DType(rawValue: decode.parameters.string("feature_cache") ?? ""), prompts: 1,
            startPicture: startPicture, precision: precision)
        let plan = try WanStreamPlanner.plan(parts, request, budget: budget, device: device)
        try plan.checkDeviceBuffers()
        let stream = plan.stream
        let encoder = plan.keyframeEncode?.weightBytes ?? 0
        func beyondWeights(_ stage: WanStagePlan?) -> UInt64 {
            stage.map { $0.peakBytes - min($0.peakBytes, $0.weightBytes) } ?? 0
        }
        let chunk = stream.promptBytes + stream.textKeyValueBytes + stream.kvCacheBytes
            + max(stream.predictPassBytes, stream.extendPassBytes)
        var owned: [(String, UInt64)] = [(decode.id, stream.decodeCallBytes + encoder)]
        if startPicture, let keyframe = decode.inputs.first {
            owned.append((keyframe, beyondWeights(plan.keyframeEncode)))
        }
        for stage in chunks {
            owned.append((stage.id, chunk))
            if let text = stage.inputs.first { owned.append((text, beyondWeights(plan.textEncoding))) }
        }
        for (id, bytes) in owned {
            activation[id] = max(activation[id] ?? 0, bytes)
        }
    }
}
