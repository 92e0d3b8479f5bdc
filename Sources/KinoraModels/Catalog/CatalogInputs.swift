import Foundation
import KinoraGPU
import KinoraTensor

/// Stand-in inputs of the right shapes for recording a catalogued model's graphs: fixed, smoothly varying values
/// (any values do for memory and timing).
public enum CatalogInputs {
    /// One UNet evaluation's inputs.
    public struct UNetInputs {
        public var sample: Value
        public var encoderHiddenStates: Value
        public var addedConditions: UNetAddedConditions?
    }

    /// A prompt's token ids as `CLIPTokenizer.paddedIDs` lays them out: start, a few words, end, padding.
    public static func promptIDs(_ configuration: CLIPTextConfig) -> [Int32] {
        let words: [Int32] = [320, 1929, 539, 550, 18376, 6765]
        let ids = [49406] + words + [49407]
        return ids + [Int32](repeating: 49407, count: configuration.maxPositionEmbeddings - ids.count)
    }

    /// Latents [batch, channels, height, width] as a graph input.
    public static func latents(_ graph: Graph, channels: Int, batch: Int, height: Int, width: Int) throws -> Value {
        try graph.input(values(batch * channels * height * width), shape: [batch, channels, height, width])
    }

    /// Latents, `tokens` of conditioning (77 per prompt window) and, for SDXL, the pooled embedding and time ids
    /// for a batch of `batch`.
    public static func unet(_ graph: Graph, _ configuration: UNet2DConditionConfig, batch: Int, height: Int,
                            width: Int, tokens: Int = 77) throws -> UNetInputs {
        let crossDim = try configuration.perBlock(configuration.crossAttentionDim, "cross_attention_dim")[0]
        let sample = try latents(graph, channels: configuration.inChannels, batch: batch, height: height,
                                 width: width)
        // One conditioning input per batch entry, joined on the graph, as the pipeline joins its guidance halves.
        let halves = try (0..<batch).map { _ in
            try graph.input(values(tokens * crossDim), shape: [1, tokens, crossDim])
        }
        let states = batch == 1 ? halves[0] : try graph.concat(halves, axis: 0)
        var added: UNetAddedConditions?
        if let inputDim = configuration.projectionClassEmbeddingsInputDim,
           let timeDim = configuration.additionTimeEmbedDim {
            let pooled = inputDim - 6 * timeDim
            let sizes: [Float] = [Float(height * 8), Float(width * 8), 0, 0, Float(height * 8), Float(width * 8)]
            let embeds = try (0..<batch).map { _ in try graph.input(values(pooled), shape: [1, pooled]) }
            added = UNetAddedConditions(
                textEmbeds: batch == 1 ? embeds[0] : try graph.concat(embeds, axis: 0),
                timeIds: [Float]((0..<batch).map { _ in sizes }.joined()))
        }
        return UNetInputs(sample: sample, encoderHiddenStates: states, addedConditions: added)
    }

    /// The same inputs for a pass with streamed weights (`UNet2DConditionModel.streamedPrediction`), as device
    /// tensors: latents, one conditioning tensor per batch entry and, for SDXL, the pooled embeddings and time ids;
    /// timestep 500.
    public static func streamedUNet(_ configuration: UNet2DConditionConfig, batch: Int, height: Int, width: Int,
                                    tokens: Int = 77, device: GPUDevice) throws -> UNetStreamedInputs {
        let crossDim = try configuration.perBlock(configuration.crossAttentionDim, "cross_attention_dim")[0]
        let tensor = { (shape: [Int]) in try Tensor(values(shape.reduce(1, *)), shape: shape, on: device) }
        var inputs = UNetStreamedInputs(
            sample: try tensor([batch, configuration.inChannels, height, width]), timestep: 500,
            encoderHiddenStates: try (0..<batch).map { _ in try tensor([1, tokens, crossDim]) })
        if let inputDim = configuration.projectionClassEmbeddingsInputDim,
           let timeDim = configuration.additionTimeEmbedDim {
            inputs.textEmbeds = try (0..<batch).map { _ in try tensor([1, inputDim - 6 * timeDim]) }
            let sizes: [Float] = [Float(height * 8), Float(width * 8), 0, 0, Float(height * 8), Float(width * 8)]
            inputs.timeIds = [Float]((0..<batch).map { _ in sizes }.joined())
        }
        return inputs
    }

    /// Records one UNet evaluation at timestep 500.
    public static func recordUNet(_ graph: Graph, _ unet: UNet2DConditionModel, _ inputs: UNetInputs) throws
        -> Value {
        try unet(graph, sample: inputs.sample, timestep: 500, encoderHiddenStates: inputs.encoderHiddenStates,
                 addedConditions: inputs.addedConditions)
    }

    private static func values(_ count: Int) -> [Float] {
        (0..<count).map { Float(sin(Double($0) * 0.618)) }
    }
}
