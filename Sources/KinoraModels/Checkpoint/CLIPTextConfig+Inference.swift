import KinoraFormats
/// A CLIP text-encoder configuration read off a checkpoint's tensor shapes (internal transformers names).
extension CLIPTextConfig {
    /// Infers vocabulary, width, MLP width, layers, context length and (with `text_projection.weight`) the
    /// projection width. `activation` is `quick_gelu` for OpenAI CLIP and `gelu` for OpenCLIP; heads are 64 wide.
    /// `eos_token_id` is the legacy 2 (pool at the largest id, which is CLIP's end-of-text token). The result is
    /// checked when the model is built (`CLIPTextModel.init`).
    public static func inferred(from store: any WeightStore, family: ModelFamily, activation: CLIPActivation) throws
        -> CLIPTextConfig {
        let table = ShapeTable(store)
        let root = table.contains("text_model.embeddings.token_embedding.weight") ? "text_model." : ""
        let tokens = try table.shape(root + "embeddings.token_embedding.weight", rank: 2)
        let positions = try table.shape(root + "embeddings.position_embedding.weight", rank: 2)
        let hidden = tokens[1]
        return CLIPTextConfig(
            vocabSize: tokens[0], hiddenSize: hidden,
            intermediateSize: try table.shape(root + "encoder.layers.0.mlp.fc1.weight", rank: 2)[0],
            projectionDim: table.shapes["text_projection.weight"]?.first ?? hidden,
            numHiddenLayers: try table.count(under: root + "encoder.layers."),
            numAttentionHeads: family.textEncoderHeads(hiddenSize: hidden),
            maxPositionEmbeddings: positions[0], hiddenAct: activation.rawValue, eosTokenId: 2)
    }
}
