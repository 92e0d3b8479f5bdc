import KinoraTensor

/// How many latent frames a chunk of `decodeChunks`/`encodeChunks` holds on a given device: stable-audio-tools'
/// 128, or fewer where one of the chunk's buffers would pass the device's largest binding or allocation.
///
/// The largest buffer of a chunk grows with its frames: Stable Audio Open's decoder holds 128 channels of audio at
/// the full rate after its last upsampling, 150 MiB for 128 frames and their context, over lavapipe's 128 MiB
/// `maxStorageBufferRange`. The chunk is chosen by recording the chunk's graph and reading its memory plan, so the
/// bound holds whatever the activation type and the configuration.
extension AutoencoderOobleck {
    /// Latent frames per decode chunk of `batch` (at most `preferred`) whose largest buffer fits `maxBufferBytes`.
    public func decodeChunkFrames(
        batch: Int = 1, preferred: Int = 128, maxBufferBytes: UInt64, arena: ActivationArena,
        activations: DType = .f32
    ) throws -> Int {
        let channels = configuration.decoderInputChannels
        return try Self.fittingChunkFrames(
            preferred: preferred, context: decodeContextFrames, maxBufferBytes: maxBufferBytes, arena: arena
        ) { frames in
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            let audio = try decode(graph, graph.placeholder(shape: [batch, channels, frames]))
            return try graph.memoryPlan([audio]).largestBufferBytes
        }
    }

    /// Latent frames per encode chunk of `batch` (at most `preferred`) whose largest buffer fits `maxBufferBytes`.
    public func encodeChunkFrames(
        batch: Int = 1, preferred: Int = 128, maxBufferBytes: UInt64, arena: ActivationArena,
        activations: DType = .f32
    ) throws -> Int {
        let (channels, hop) = (configuration.audioChannels, configuration.hopLength)
        return try Self.fittingChunkFrames(
            preferred: preferred, context: encodeContextFrames, maxBufferBytes: maxBufferBytes, arena: arena
        ) { frames in
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            let (mean, std) = try encode(graph, graph.placeholder(shape: [batch, channels, frames * hop]))
            let sample = try self.sample(graph, mean: mean, std: std, noise: graph.placeholder(shape: mean.shape))
            return try graph.memoryPlan([sample]).largestBufferBytes
        }
    }

    /// The largest chunk, at most `preferred` frames, whose graph over it and `context` frames each side has no buffer
    /// over `maxBufferBytes`; `largestBuffer` records that graph for a number of frames and returns its largest
    /// buffer. The buffers grow about linearly with the frames, so each try scales the chunk by the overshoot and
    /// at most a few are recorded. When even one frame does not fit, the error says so.
    static func fittingChunkFrames(
        preferred: Int, context: Int, maxBufferBytes: UInt64, arena: ActivationArena,
        largestBuffer: (Int) throws -> UInt64
    ) throws -> Int {
        var chunk = max(1, preferred)
        while true {
            let largest = try {
                defer { arena.trim() }
                return try largestBuffer(chunk + 2 * context)
            }()
            if largest <= maxBufferBytes { return chunk }
            guard chunk > 1 else {
                throw AutoencoderOobleckError.chunkTooLarge(
                    largestBufferBytes: largest, maxBufferBytes: maxBufferBytes, context: context)
            }
            let scaled = Double(chunk + 2 * context) * Double(maxBufferBytes) / Double(largest) - Double(2 * context)
            chunk = max(1, min(chunk - 1, Int(scaled.rounded(.down))))
        }
    }
}
