import KinoraGPU
import KinoraTensor

extension AutoencoderOobleck {
    /// Latent frames on each side of a frame that its decoded samples depend on (the decoder's receptive field,
    /// rounded up): the first convolution's 3 taps, each block's transposed convolution (a frame at its input rate)
    /// and its three residual units (7 taps dilated 1, 3 and 9, at its output rate), and the last convolution's 3.
    public var decodeContextFrames: Int {
        var reach = 3.0
        var rate = 1
        for stride in configuration.upsamplingRatios {
            reach += 1 / Double(rate)
            rate *= stride
            reach += Double(3 * (1 + 3 + 9)) / Double(rate)
        }
        reach += 3 / Double(rate)
        return Int(reach.rounded(.up)) + 1
    }

    /// Whether `decodeChunks` gives the whole decode: every stride even, so each latent frame decodes to exactly
    /// `hop_length` samples and chunks line up.
    public var decodesInChunks: Bool { configuration.upsamplingRatios.allSatisfy { $0 % 2 == 0 } }

    /// The audio [N, audio_channels, T · hop_length] of `latents` [N, decoder_input_channels, T] decoded
    /// `chunkFrames` latent frames at a time, each with `decodeContextFrames` of context on both sides that is
    /// decoded and dropped, so the result is the whole decode's (the decoder is convolutional) while the device holds
    /// the activations of one chunk and its context — for Stable Audio Open's 1024-frame window, 7.7 GiB of
    /// activations become those of 128 + 2 · context frames. Graphs run one after another on `arena`, in the
    /// activation type of `precision` (`activationType`). `contextFrames` overrides the context (tests show what too
    /// little of it does).
    public func decodeChunks(
        _ latents: [Float], shape: [Int], chunkFrames: Int = 128, contextFrames: Int? = nil, arena: ActivationArena,
        precision: ActivationPrecision? = nil
    ) throws -> [Float] {
        let channels = configuration.decoderInputChannels
        guard shape.count == 3, shape[1] == channels, shape[0] >= 1, shape[2] >= 1,
            latents.count == shape.reduce(1, *), chunkFrames >= 1
        else {
            throw AutoencoderOobleckError.invalidInput(
                operation: "decode", shape: shape,
                reason: "expected \(latents.count) latents as [N, \(channels), T] and chunks of at least 1 frame")
        }
        let (batch, frames) = (shape[0], shape[2])
        let hop = configuration.hopLength
        let audioChannels = configuration.audioChannels
        let activations = activationType(precision)
        guard decodesInChunks, frames > chunkFrames else {
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            return try graph.run([decode(graph, graph.input(latents, shape: shape))])[0].floats()
        }
        let context = contextFrames ?? decodeContextFrames
        var audio = [Float](repeating: 0, count: batch * audioChannels * frames * hop)
        for start in stride(from: 0, to: frames, by: chunkFrames) {
            let end = min(start + chunkFrames, frames)
            let (from, to) = (max(0, start - context), min(frames, end + context))
            var piece: [Float] = []
            piece.reserveCapacity(batch * channels * (to - from))
            for row in 0..<(batch * channels) {
                piece += latents[(row * frames + from)..<(row * frames + to)]
            }
            let decoded = try {
                defer { arena.trim() }
                let graph = Graph(arena: arena)
                graph.activationDType = activations
                return try graph.run([decode(graph, graph.input(piece, shape: [batch, channels, to - from]))])[0]
                    .floats()
            }()
            let pieceLength = (to - from) * hop
            for row in 0..<(batch * audioChannels) {
                let source = row * pieceLength + (start - from) * hop
                let target = row * frames * hop + start * hop
                audio.replaceSubrange(
                    target..<(target + (end - start) * hop), with: decoded[source..<(source + (end - start) * hop)])
            }
        }
        return audio
    }
}

extension AutoencoderOobleck {
    /// Latent frames on each side of a frame that its posterior depends on (the encoder's receptive field, rounded
    /// up): the first convolution's 3 taps, each block's three residual units (7 taps dilated 1, 3 and 9) and its
    /// strided convolution (2 · stride taps), each at its input rate, and the last convolution's 1 tap a side.
    public var encodeContextFrames: Int {
        var reach = 3
        var rate = 1
        for stride in configuration.downsamplingRatios {
            reach += 3 * (1 + 3 + 9) * rate + 2 * stride * rate
            rate *= stride
        }
        reach += rate
        return (reach + rate - 1) / rate + 1
    }

    /// Whether `encodeChunks` gives the whole encode: every stride 2 or more, so each `hop_length` samples encode to
    /// exactly one latent frame and chunks line up.
    public var encodesInChunks: Bool { configuration.downsamplingRatios.allSatisfy { $0 >= 2 } }

    /// The posterior sample `mean + std · noise` of `audio` [N, audio_channels, T · hop_length] ([N,
    /// decoder_input_channels, T], `noise` standard normal of that size), encoded `chunkFrames` latent frames at a
    /// time, each with `encodeContextFrames` of context on both sides that is encoded and dropped, so the result is the
    /// whole encode's (the encoder is convolutional) while the device holds the activations of one chunk and its
    /// context — for Stable Audio Open's 1024-frame window, 5.1 GiB of activations become those of 128 + 2 · context
    /// frames. Audio of another length is encoded in one pass, as `encode` rounds it. Graphs run in the activation
    /// type of `precision` (`activationType`). `contextFrames` overrides the context (tests show what too little of
    /// it does).
    public func encodeChunks(
        _ audio: [Float], shape: [Int], noise: [Float], chunkFrames: Int = 128, contextFrames: Int? = nil,
        arena: ActivationArena, precision: ActivationPrecision? = nil
    ) throws -> [Float] {
        let (channels, latent, hop) =
            (configuration.audioChannels, configuration.decoderInputChannels, configuration.hopLength)
        guard shape.count == 3, shape[1] == channels, shape[0] >= 1, shape[2] >= hop,
            audio.count == shape.reduce(1, *), chunkFrames >= 1,
            noise.count == shape[0] * latent * (shape[2] / hop)
        else {
            throw AutoencoderOobleckError.invalidInput(
                operation: "encode", shape: shape,
                reason: "expected \(audio.count) samples as [N, \(channels), L ≥ \(hop)], noise of the latents' size "
                    + "and chunks of at least 1 frame")
        }
        let (batch, frames) = (shape[0], shape[2] / hop)
        let activations = activationType(precision)
        // One pass over `piece` [N, audio_channels, length] with the noise of its latent frames `range`.
        func encoded(_ piece: [Float], length: Int, _ range: Range<Int>) throws -> [Float] {
            defer { arena.trim() }
            var pieceNoise: [Float] = []
            pieceNoise.reserveCapacity(batch * latent * range.count)
            for row in 0..<(batch * latent) {
                pieceNoise += noise[(row * frames + range.lowerBound)..<(row * frames + range.upperBound)]
            }
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            let (mean, std) = try encode(graph, graph.input(piece, shape: [batch, channels, length]))
            let sample = try self.sample(graph, mean: mean, std: std, noise: graph.input(pieceNoise, shape: mean.shape))
            return try graph.run([sample])[0].floats()
        }
        guard encodesInChunks, shape[2] == frames * hop, frames > chunkFrames else {
            return try encoded(audio, length: shape[2], 0..<frames)
        }
        let context = contextFrames ?? encodeContextFrames
        var sample = [Float](repeating: 0, count: batch * latent * frames)
        for start in stride(from: 0, to: frames, by: chunkFrames) {
            let end = min(start + chunkFrames, frames)
            let (from, to) = (max(0, start - context), min(frames, end + context))
            var piece: [Float] = []
            piece.reserveCapacity(batch * channels * (to - from) * hop)
            for row in 0..<(batch * channels) {
                piece += audio[(row * frames + from) * hop..<(row * frames + to) * hop]
            }
            let result = try encoded(piece, length: (to - from) * hop, from..<to)
            for row in 0..<(batch * latent) {
                let source = row * (to - from) + (start - from)
                sample.replaceSubrange(
                    (row * frames + start)..<(row * frames + end), with: result[source..<(source + end - start)])
            }
        }
        return sample
    }
}
