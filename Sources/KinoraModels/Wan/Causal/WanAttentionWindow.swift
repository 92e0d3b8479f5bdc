/// A bounded KV cache for streams of any length (Self-Forcing's `local_attn_size` with `sink_size`, LongLive's
/// attention sink and local window): a chunk's queries attend to at most `frames` latent frames, the first
/// `sinkFrames` of the video (the sink, kept for good) and the most recent ones, their own chunk included. Once the
/// cache would exceed that, the oldest frames after the sink are dropped. Rotary positions go by place in the cache,
/// so they stay below `frames` however long the stream runs and memory stays that of one window.
public struct WanAttentionWindow: Sendable, Equatable {
    /// Latent frames a chunk's queries attend to, sink and own chunk included.
    public let frames: Int
    /// The video's first latent frames, always attended to.
    public let sinkFrames: Int

    /// Throws unless 0 ≤ `sinkFrames` < `frames`.
    public init(frames: Int, sinkFrames: Int) throws {
        guard frames >= 1, sinkFrames >= 0, sinkFrames < frames else {
            throw CausalScheduleError.invalid(
                reason: "a window of \(frames) latent frames with a sink of \(sinkFrames); the sink must be smaller")
        }
        self.frames = frames
        self.sinkFrames = sinkFrames
    }

    /// Latent frames Self-Forcing and CausVid were trained on (81 video frames, their `kv_cache_size` of 21 frames):
    /// their attention never reached further back, so a longer window asks for what they never learned.
    public static let trainedFrames = 21

    /// Why a window of `frames` latent frames asks more than the models learned (nil when it does not).
    public static func untrained(frames: Int) -> String? {
        guard frames > trainedFrames else { return nil }
        return "a window of \(frames) latent frames is longer than the \(trainedFrames) latent frames the "
            + "autoregressive Wan models (Self-Forcing, CausVid) were trained on; their attention never reached further "
            + "back"
    }

    /// The window a stream of `latentFrames` in chunks of `chunkFrames` gets when none is asked for: none while the
    /// whole stream fits the trained frames, else the trained extent with the first chunk as the sink (the rolling
    /// cache Self-Forcing's model keeps once its cache is full, with LongLive's sink).
    public static func automatic(latentFrames: Int, chunkFrames: Int) throws -> WanAttentionWindow? {
        guard latentFrames > trainedFrames else { return nil }
        return try WanAttentionWindow(frames: trainedFrames, sinkFrames: min(chunkFrames, trainedFrames - 1))
    }

    /// The frames a cache may keep between chunks of `chunkFrames`, so that it and the next chunk fit the window.
    func keptFrames(chunkFrames: Int) -> Int { max(0, frames - chunkFrames) }
}
