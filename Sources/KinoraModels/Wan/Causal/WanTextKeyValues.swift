import KinoraTensor

/// A prompt's cross-attention keys and values for every block of the causal Wan, [1, L_text, dim] each, with the
/// embeddings they came from (`WanCausalTransformer.textKeyValues`).
public struct WanTextKeyValues {
    /// The UMT5 embeddings [1, L_text, text_dim].
    public let text: Tensor
    public let keys: [Tensor]
    public let values: [Tensor]

    /// Device bytes the keys and values hold.
    public var bytes: Int { (keys + values).reduce(0) { $0 + $1.byteCount } }
}
