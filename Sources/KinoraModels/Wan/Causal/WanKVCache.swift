import KinoraGPU
import KinoraTensor

/// The causal Wan's key-value cache: for every transformer block, the self-attention keys (turned by their frames'
/// rotary positions) and values of the latent frames generated so far, each [1, frames · tokens per frame, dim],
/// kept on the device between chunks (Self-Forcing's `kv_cache`). A chunk's queries attend to all of it and to
/// themselves; the clean pass of a finished chunk appends that chunk's keys and values.
public struct WanKVCache {
    /// Per block: keys and values, [1, L, dim] each; empty before the first chunk.
    public internal(set) var keys: [Tensor]
    public internal(set) var values: [Tensor]
    /// Latent frames made so far: the next chunk starts at this frame of the video.
    public internal(set) var frames: Int
    /// Tokens each latent frame contributes (patches per frame); 0 before the first chunk.
    public internal(set) var tokensPerFrame: Int

    /// An empty cache: the first chunk sees only itself.
    public init() {
        keys = []
        values = []
        frames = 0
        tokensPerFrame = 0
    }

    /// Latent frames the cache holds: all that were made, or with an attention window its sink and recent frames.
    public var keptFrames: Int { tokensPerFrame == 0 ? 0 : (keys.first?.shape[1] ?? 0) / tokensPerFrame }

    /// Device bytes the cache holds.
    public var bytes: Int { (keys + values).reduce(0) { $0 + $1.byteCount } }

    /// Whether nothing is cached.
    public var isEmpty: Bool { frames == 0 }
}
