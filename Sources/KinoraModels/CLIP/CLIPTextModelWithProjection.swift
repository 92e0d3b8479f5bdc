import KinoraFormats
import KinoraTensor

/// transformers' `CLIPTextModelWithProjection`: `CLIPTextModel` plus `text_projection` (a bias-free linear layer
/// hidden → projection_dim) applied to the pooled output. SDXL's second encoder (OpenCLIP ViT-bigG) is one: the
/// pipeline conditions on its penultimate hidden states and its `textEmbeds` (`pooled_prompt_embeds`).
public final class CLIPTextModelWithProjection: Sendable {
    public let textModel: CLIPTextModel
    let weights: DeviceWeights

    /// `weights` hold `text_model.…` and `text_projection.weight` [projection_dim, hidden]. Activations run in
    /// `precision`, by default the weights' storage type.
    public init(configuration: CLIPTextConfig, weights: DeviceWeights, precision: ActivationPrecision? = nil) throws {
        guard weights.contains("text_projection.weight") else {
            throw WeightsError.missingTensor(file: weights.store.sourceName, tensor: "text_projection.weight")
        }
        textModel = try CLIPTextModel(configuration: configuration, weights: weights, precision: precision)
        self.weights = weights
    }

    public var configuration: CLIPTextConfig { textModel.configuration }

    /// Records the forward pass (see `CLIPTextModel.callAsFunction`); the output carries `textEmbeds`.
    public func callAsFunction(_ graph: Graph, inputIDs: [[Int32]]) throws -> CLIPTextModelOutput {
        let output = try textModel(graph, inputIDs: inputIDs)
        let projection = try weights.value("text_projection.weight", in: graph,
                                           shape: [configuration.projectionDim, configuration.hiddenSize])
        return CLIPTextModelOutput(lastHiddenState: output.lastHiddenState, hiddenStates: output.hiddenStates,
                                   pooledOutput: output.pooledOutput,
                                   textEmbeds: try graph.withActivations(textModel.activationDType) {
                                       try graph.linear(output.pooledOutput, weight: projection)
                                   })
    }
}
