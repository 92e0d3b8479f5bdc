import KinoraTensor

/// What one block's self-attention sees beyond its own tokens in the causal Wan: the keys (not yet turned) and
/// values of the frames cached before this call, the rotary table that turns them and the call's keys together
/// (positions by place in the cache), and the block-causal chunk size.
struct WanSelfAttentionCache {
    /// Cached keys and values in pieces, oldest first, [B, L_i, dim] each (any float type: they are joined to the
    /// call's own, widened, inside the block); empty when nothing is cached.
    var prefix: [(key: Value, value: Value)] = []
    /// The rotary tables [L_cache + L, D/2] of the cached keys followed by the call's; nil: the call's own table.
    var keyRotary: WanTransformerAttention.Rotary?
    /// Query i sees key j only when j / S <= (i + L_cache) / S, S this many tokens (a chunk of latent frames); nil
    /// for full attention over the prefix and the call's own tokens.
    var blockCausalTokens: Int?
    /// The block's cross-attention keys and values of the prompt, [B, L_text, dim] each, when computed once per
    /// prompt; nil: from the text embeddings in the call.
    var text: (key: Value, value: Value)?

    /// Tokens cached before the call.
    var prefixTokens: Int { prefix.reduce(0) { $0 + $1.key.shape[1] } }
}
