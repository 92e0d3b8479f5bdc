import KinoraTensor

/// What one block's self-attention sees beyond its own tokens in the causal Wan: the keys (already turned by their
/// frames' rotary positions) and values of the frames cached before this call, and the block-causal chunk size.
struct WanSelfAttentionCache {
    /// Cached keys and values, [B, L_cache, dim] each; nil when nothing is cached.
    var prefix: (key: Value, value: Value)?
    /// Query i sees key j only when j / S <= (i + L_cache) / S, S this many tokens (a chunk of latent frames); nil
    /// for full attention over the prefix and the call's own tokens.
    var blockCausalTokens: Int?
}
