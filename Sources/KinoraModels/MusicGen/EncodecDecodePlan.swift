import KinoraTensor

/// The device memory of an EnCodec decode beyond its weights (`EncodecDecoder.plannedDecode`): the head's graph
/// (the first convolution and the LSTM over every frame) and the largest piece of the convolutional rest, which runs
/// while the head's output is held. The summed codebook entries the decode uploads (hidden_size × frames floats,
/// 3 MB for a 2-minute MusicGen cue) are not counted.
public struct EncodecDecodePlan: Sendable, Equatable {
    public var head: MemoryPlan
    public var piece: MemoryPlan

    /// The highest device bytes of the decode: the head's run, or its output beside a piece's run.
    public var peakBytes: UInt64 {
        max(head.allocatedPeakBytes, head.allocatedOutputBytes + piece.allocatedPeakBytes)
    }

    /// The largest single buffer of either graph, to hold against the device's largest buffer.
    public var largestBufferBytes: UInt64 { max(head.largestBufferBytes, piece.largestBufferBytes) }
}
