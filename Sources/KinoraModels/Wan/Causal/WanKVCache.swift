import KinoraGPU
import KinoraTensor

/// The causal Wan's key-value cache: for every transformer block, the self-attention keys (not turned: rotary
/// positions go by place in the cache) and values of the latent frames generated so far, kept on the device between
/// chunks (Self-Forcing's `kv_cache`). A chunk's queries attend to all of it and to themselves; the clean pass of a
/// finished chunk adds that chunk's keys and values.
///
/// The cache is kept in pieces, one per `extend` (a chunk's frames, [1, frames · tokens per frame, dim] each), so
/// that adding a chunk allocates only that chunk and the frames already cached are never copied: a run holds the
/// cache once, plus the chunk it adds (a single tensor per block would hold the old and the grown one at once).
public struct WanKVCache {
    /// Per block: the keys and the values of the cached frames, piece by piece, oldest first; empty before the
    /// first chunk.
    public internal(set) var keys: [[Tensor]]
    public internal(set) var values: [[Tensor]]
    /// The latent frames of each piece, the same for every block.
    public internal(set) var pieceFrames: [Int]
    /// Latent frames made so far: the next chunk starts at this frame of the video.
    public internal(set) var frames: Int
    /// Tokens each latent frame contributes (patches per frame); 0 before the first chunk.
    public internal(set) var tokensPerFrame: Int

    /// An empty cache: the first chunk sees only itself.
    public init() {
        keys = []
        values = []
        pieceFrames = []
        frames = 0
        tokensPerFrame = 0
    }

    /// Latent frames the cache holds: all that were made, or with an attention window its sink and recent frames.
    public var keptFrames: Int { pieceFrames.reduce(0, +) }

    /// Device bytes the cache holds.
    public var bytes: Int { (keys + values).joined().reduce(0) { $0 + $1.byteCount } }

    /// Whether nothing is cached.
    public var isEmpty: Bool { frames == 0 }

    /// The storage type of the cached keys and values (nil when empty).
    var dtype: DType? { keys.first?.first?.dtype }
}
