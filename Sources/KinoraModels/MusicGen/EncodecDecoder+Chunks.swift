import KinoraGPU
import KinoraTensor

/// Long audio: a 2-minute MusicGen cue is 6000 frames, 3.84 M samples, and the decoder's last blocks are 64 and
/// 128 channels wide at 32 and 8 kHz, so a one-shot decode would need buffers of 1 GB, far past what one binding
/// may cover (128 MiB on lavapipe). The decode is exact in pieces because only its head is sequential:
///
/// - the first convolution and the LSTM (`head`) run once over every frame, 1024 channels at the frame rate
///   (24.6 MB for 6000 frames; the LSTM projects its inputs in bounded blocks, see `Graph.lstm`);
/// - the rest (`upsample`) is convolutional with a finite reach, and each frame decodes to exactly `hop_length`
///   samples (every transposed convolution has kernel 2 · stride and trims kernel − stride), so a piece of frames
///   decoded with `decodeContextFrames` more on each side, those dropped after, equals the whole decode there. At the
///   ends of the audio a piece's edge is the audio's edge, where it pads just as the whole decode does.
extension EncodecDecoder {
    /// The most bytes a piece's widest activation takes by default (`defaultChunkFrames`).
    public static let chunkActivationBytes = 32 << 20

    /// Frames on each side of a frame that its samples depend on through `upsample` (rounded up, plus one): per
    /// stride, the transposed convolution's two input frames and each residual block's dilated kernel at its output
    /// rate, then the last convolution's kernel.
    public var decodeContextFrames: Int {
        let c = configuration
        var reach = 0.0
        var rate = 1
        for stride in c.upsamplingRatios {
            reach += 2 / Double(rate)
            rate *= stride
            for dilation in EncodecSEANetDecoder.dilations(c) {
                reach += Double((c.residualKernelSize - 1) * dilation) / Double(rate)
            }
        }
        reach += Double(c.lastKernelSize - 1) / Double(rate)
        return Int(reach.rounded(.up)) + 1
    }

    /// Bytes per frame of `upsample`'s widest activation (f32): a block's output width times its rate.
    var activationBytesPerFrame: Int {
        let widths = configuration.decoderWidths
        var rate = 1
        var widest = widths[0]
        for (index, stride) in configuration.upsamplingRatios.enumerated() {
            rate *= stride
            widest = max(widest, widths[index + 1] * rate)
        }
        return widest * DType.f32.size
    }

    /// Frames a piece decodes by default: as many as keep its widest activation, context included, within
    /// `chunkActivationBytes` (196 for MusicGen's codec: 160 KiB a frame, 4 frames of context a side), counted in f32
    /// whatever the activation type: 16-bit activations decode the same pieces in half the bytes.
    public var defaultChunkFrames: Int {
        max(1, Self.chunkActivationBytes / activationBytesPerFrame - 2 * decodeContextFrames)
    }

    /// The device memory `decode(codes:arena:)` takes over `frames` frames, worked out by recording its graphs over
    /// placeholders without running them: the head's, whose output stays while the pieces run, and the largest
    /// piece's (one with context on both sides, or the whole audio when it is one piece), in the activation type of
    /// `precision` (`activationType`). Weights are uploaded as the graphs read them unless `weights` holds shapes only
    /// (`DeviceWeights.shapesOnly`).
    public func plannedDecode(
        frames: Int, chunkFrames: Int? = nil, contextFrames: Int? = nil, precision: ActivationPrecision? = nil
    ) throws -> EncodecDecodePlan {
        let chunk = chunkFrames ?? defaultChunkFrames
        let context = contextFrames ?? decodeContextFrames
        guard frames >= 1, chunk >= 1, context >= 0 else {
            throw EncodecError.invalidCodes(
                reason: "a plan of \(frames) frames in pieces of \(chunk) with \(context) of context: need at least "
                    + "1, 1 and 0")
        }
        let arena = ActivationArena(device: weights.device)
        let head = Graph(arena: arena)
        head.activationDType = activationType(precision)
        let hidden = try self.head(head, head.placeholder(shape: [1, configuration.hiddenSize, frames]))
        let piece = Graph(arena: arena)
        piece.activationDType = head.activationDType
        let length = frames > chunk ? min(frames, chunk + 2 * context) : frames
        let audio = try decoder.upsample(
            piece, piece.placeholder(shape: [1, hidden.shape[1], length], dtype: hidden.dtype))
        return EncodecDecodePlan(head: try head.memoryPlan([hidden]), piece: try piece.memoryPlan([audio]))
    }

    /// The audio of `codes` ([codebooks][frames]: 1 to `num_quantizers` codebooks), as transformers'
    /// `EncodecModel.decode(codes, [None])`: audio_channels × (frames · hop_length) samples, channel after channel
    /// (mono for MusicGen), at `sampling_rate`. The head runs once; the convolutions in pieces of `chunkFrames`
    /// frames (default `defaultChunkFrames`) with `contextFrames` of context on each side (default
    /// `decodeContextFrames`; tests show what too little does), so no buffer grows with the length of the audio
    /// beyond the head's. Graphs run one after another on `arena`, in the activation type of `precision`
    /// (`activationType`).
    public func decode(
        codes: [[Int]], arena: ActivationArena, chunkFrames: Int? = nil, contextFrames: Int? = nil,
        precision: ActivationPrecision? = nil
    ) throws -> [Float] {
        let embeddings = try quantizer.embeddings(codes)
        let frames = codes[0].count
        let chunk = chunkFrames ?? defaultChunkFrames
        let context = contextFrames ?? decodeContextFrames
        guard chunk >= 1, context >= 0 else {
            throw EncodecError.invalidCodes(
                reason: "pieces of \(chunk) frames with \(context) frames of context: need at least 1 and 0")
        }
        let activations = activationType(precision)
        func run(_ body: (Graph) throws -> Value) throws -> Tensor {
            defer { arena.trim() }
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            return try graph.run([body(graph)])[0]
        }
        let hidden = try run { graph in
            try head(graph, graph.input(embeddings, shape: [1, configuration.hiddenSize, frames]))
        }
        guard frames > chunk else {
            return try run { graph in try decoder.upsample(graph, graph.input(hidden)) }.floats()
        }
        let (hop, channels) = (configuration.hopLength, configuration.audioChannels)
        var audio = [Float](repeating: 0, count: channels * frames * hop)
        for start in stride(from: 0, to: frames, by: chunk) {
            let end = min(start + chunk, frames)
            let (from, to) = (max(0, start - context), min(frames, end + context))
            let piece = try run { graph in
                try decoder.upsample(graph, graph.slice(graph.input(hidden), axis: 2, start: from, length: to - from))
            }.floats()
            let pieceLength = (to - from) * hop
            for channel in 0..<channels {
                let source = channel * pieceLength + (start - from) * hop
                let target = channel * frames * hop + start * hop
                audio.replaceSubrange(
                    target..<(target + (end - start) * hop), with: piece[source..<(source + (end - start) * hop)])
            }
        }
        return audio
    }
}
