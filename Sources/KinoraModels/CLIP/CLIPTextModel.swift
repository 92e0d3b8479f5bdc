import KinoraFormats
import KinoraTensor

/// What a CLIP text encoder's forward pass produces, as values of the graph it was recorded on.
public struct CLIPTextModelOutput {
    /// [B, L, hidden]: the last layer's output after `final_layer_norm` (SD 1.x and SD 2.x conditioning).
    public let lastHiddenState: Value
    /// transformers' `output_hidden_states`: the embeddings, then each layer's output (without
    /// `final_layer_norm`); `num_hidden_layers + 1` values of [B, L, hidden].
    public let hiddenStates: [Value]
    /// [B, hidden]: `lastHiddenState` at each prompt's EOS position (`pooler_output`).
    public let pooledOutput: Value
    /// [B, projection_dim]: `text_projection(pooledOutput)`, from `CLIPTextModelWithProjection` only.
    public let textEmbeds: Value?

    /// `hidden_states[-2]`: the penultimate layer's output, what SDXL conditions on (both encoders).
    public var penultimateHiddenState: Value { hiddenStates[hiddenStates.count - 2] }
}

/// CLIP's text transformer as transformers' `CLIPTextModel`: OpenAI CLIP ViT-L/14 (SD 1.x, SDXL's first encoder,
/// `quick_gelu`) and OpenCLIP ViT-H (SD 2.x, `gelu`, shipped with its last layer already dropped, so its
/// `last_hidden_state` is OpenCLIP's penultimate layer).
///
/// Weights are read under transformers' names, with or without the `text_model.` prefix (transformers 4 files, as
/// in diffusers' `text_encoder/` folders, have it; transformers 5 writes `CLIPTextModel` without it). Input is token
/// ids [B, L] with L ≤ `max_position_embeddings` (77); no attention mask, as diffusers' pipelines pass none for
/// these encoders. The embedding gather runs on the host (`CLIPTextEmbeddings`); everything after it is recorded on
/// the graph, with activations stored as `activationDType` (by default the weights' type, as diffusers runs the
/// text encoders in their `torch_dtype`).
public final class CLIPTextModel: Sendable {
    public let configuration: CLIPTextConfig
    /// The storage type of the activations its forward pass records (f32, f16 or bf16).
    public let activationDType: DType
    /// The weights under the model's root (`text_model.` stripped where present).
    let weights: DeviceWeights
    let embeddings: CLIPTextEmbeddings

    /// Checks `configuration` and the embedding tables; the other weights upload on first use. Activations run in
    /// `precision`, by default the weights' storage type.
    public init(configuration: CLIPTextConfig, weights: DeviceWeights, precision: ActivationPrecision? = nil) throws {
        try configuration.validate(source: weights.store.sourceName)
        guard configuration.eosTokenId != nil else {
            throw CLIPError.invalidConfiguration(file: weights.store.sourceName,
                                                 reason: "eos_token_id is missing; the pooled output needs it")
        }
        let root = weights.contains("text_model.final_layer_norm.weight") ? weights.scoped("text_model") : weights
        let lastLayer = "encoder.layers.\(configuration.numHiddenLayers - 1).layer_norm1.weight"
        for name in ["final_layer_norm.weight", lastLayer] where !root.contains(name) {
            throw WeightsError.missingTensor(file: weights.store.sourceName,
                                             tensor: root.prefix.isEmpty ? name : "\(root.prefix).\(name)")
        }
        if root.contains("encoder.layers.\(configuration.numHiddenLayers).layer_norm1.weight") {
            throw CLIPError.weightsMismatch(file: weights.store.sourceName,
                                            tensor: "encoder.layers.\(configuration.numHiddenLayers)",
                                            reason: "the file has more layers than num_hidden_layers "
                                                + "\(configuration.numHiddenLayers) in config.json")
        }
        self.configuration = configuration
        self.weights = root
        activationDType = ActivationPrecision.resolve(precision, weights: root.storageType).dtype
        embeddings = try CLIPTextEmbeddings(configuration: configuration, weights: root.scoped("embeddings"))
    }

    /// Records the forward pass for `inputIDs` (B prompts of one length L, e.g. [B, 77] from `CLIPTokenizer`).
    ///
    /// Throws `CLIPError` for an empty batch, rows of different lengths, L above `max_position_embeddings` or an id
    /// outside the vocabulary. Every layer is recorded (its weights upload on first use), but a graph runs only
    /// what its requested outputs need, so a clip-skip caller computes only the layers it uses.
    public func callAsFunction(_ graph: Graph, inputIDs: [[Int32]]) throws -> CLIPTextModelOutput {
        try validate(inputIDs)
        return try graph.withActivations(activationDType) { try forward(graph, inputIDs: inputIDs) }
    }

    private func forward(_ graph: Graph, inputIDs: [[Int32]]) throws -> CLIPTextModelOutput {
        var hidden = try graph.cast(embeddings(graph, ids: inputIDs), to: activationDType)
        var hiddenStates = [hidden]
        for index in 0..<configuration.numHiddenLayers {
            let layer = CLIPEncoderLayer(configuration: configuration,
                                         weights: weights.scoped("encoder.layers.\(index)"))
            hidden = try layer(graph, hidden)
            hiddenStates.append(hidden)
        }
        let last = try finalLayerNorm(graph, hidden)
        let pooled = try gatherRows(graph, last, positions: eosPositions(inputIDs))
        return CLIPTextModelOutput(lastHiddenState: last, hiddenStates: hiddenStates, pooledOutput: pooled,
                                   textEmbeds: nil)
    }

    /// The conditioning diffusers' `StableDiffusionPipeline.encode_prompt` (SD 1.x and 2.x) takes from `output`:
    /// `last_hidden_state` when `clipSkip` is nil, else `final_layer_norm(hidden_states[-(clipSkip + 1)])`.
    ///
    /// diffusers' `clip_skip` counts layers skipped: 1 uses the penultimate layer. A1111's "Clip skip" setting
    /// counts from 1 (1 = no skip), so A1111's N is `clipSkip` N − 1.
    public func stableDiffusionPromptEmbeds(_ graph: Graph, output: CLIPTextModelOutput, clipSkip: Int?) throws
        -> Value {
        guard let clipSkip else { return output.lastHiddenState }
        let layers = output.hiddenStates.count - 1
        guard (0...layers).contains(clipSkip) else {
            throw CLIPError.invalidClipSkip(clipSkip: clipSkip, maximum: layers)
        }
        return try finalLayerNorm(graph, output.hiddenStates[layers - clipSkip])
    }

    /// The conditioning diffusers' `StableDiffusionXLPipeline.encode_prompt` takes from each encoder:
    /// `hidden_states[-(clipSkip + 2)]` (the penultimate layer when `clipSkip` is nil), without `final_layer_norm`.
    public static func stableDiffusionXLPromptEmbeds(output: CLIPTextModelOutput, clipSkip: Int?) throws -> Value {
        let clipSkip = clipSkip ?? 0
        let layers = output.hiddenStates.count - 1
        guard (0...(layers - 1)).contains(clipSkip) else {
            throw CLIPError.invalidClipSkip(clipSkip: clipSkip, maximum: layers - 1)
        }
        return output.hiddenStates[layers - 1 - clipSkip]
    }

    /// The position pooled for each prompt, by transformers 5.23's rule: with the legacy `eos_token_id` 2 the
    /// first position of the largest id (EOS is the largest id in CLIP's vocabulary), otherwise the first position
    /// of `eos_token_id` (0 when a prompt has none, as `argmax` of all zeros gives).
    public func eosPositions(_ inputIDs: [[Int32]]) -> [Int] {
        let eos = configuration.eosTokenId ?? 2
        return inputIDs.map { row in
            if eos == 2 {
                return row.indices.reduce(0) { best, index in row[index] > row[best] ? index : best }
            }
            return row.firstIndex(of: Int32(truncatingIfNeeded: eos)) ?? 0
        }
    }

    /// `final_layer_norm(x)`.
    func finalLayerNorm(_ graph: Graph, _ x: Value) throws -> Value {
        try graph.withActivations(activationDType) {
            try Self.layerNorm(graph, x, weights: weights.scoped("final_layer_norm"), configuration: configuration)
        }
    }

    /// A `LayerNorm(hidden_size, eps=layer_norm_eps)` with `weight` and `bias` under `weights`.
    static func layerNorm(_ graph: Graph, _ x: Value, weights: DeviceWeights, configuration: CLIPTextConfig) throws
        -> Value {
        let width = configuration.hiddenSize
        return try graph.layerNorm(x, weight: weights.value("weight", in: graph, shape: [width]),
                                   bias: weights.value("bias", in: graph, shape: [width]),
                                   epsilon: configuration.layerNormEps)
    }

    /// Row `positions[b]` of each batch entry of `x` [B, L, D], as [B, D].
    private func gatherRows(_ graph: Graph, _ x: Value, positions: [Int]) throws -> Value {
        let (length, width) = (x.shape[1], x.shape[2])
        let flat = try graph.reshape(x, [x.shape[0] * length, width])
        let rows = try positions.enumerated().map { batch, position in
            try graph.slice(flat, axis: 0, start: batch * length + position, length: 1)
        }
        return rows.count == 1 ? rows[0] : try graph.concat(rows, axis: 0)
    }

    private func validate(_ inputIDs: [[Int32]]) throws {
        guard let first = inputIDs.first, !first.isEmpty else { throw CLIPError.emptyInput }
        for (row, ids) in inputIDs.enumerated() where ids.count != first.count {
            throw CLIPError.raggedInput(row: row, length: ids.count, expected: first.count)
        }
        guard first.count <= configuration.maxPositionEmbeddings else {
            throw CLIPError.sequenceTooLong(length: first.count, maximum: configuration.maxPositionEmbeddings)
        }
        for (row, ids) in inputIDs.enumerated() {
            for (position, id) in ids.enumerated() where id < 0 || Int(id) >= configuration.vocabSize {
                throw CLIPError.tokenOutOfRange(row: row, position: position, id: id,
                                                vocabularySize: configuration.vocabSize)
            }
        }
    }
}
