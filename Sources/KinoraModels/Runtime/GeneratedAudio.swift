/// Audio a model made: `channels` planar channels of `samples.count / channels` samples each, at `sampleRate`.
public struct GeneratedAudio: Sendable, Equatable {
    public var channels: Int
    public var sampleRate: Int
    public var samples: [Float]

    public init(channels: Int, sampleRate: Int, samples: [Float]) {
        self.channels = channels
        self.sampleRate = sampleRate
        self.samples = samples
    }

    /// Samples per channel.
    public var frames: Int { channels == 0 ? 0 : samples.count / channels }

    /// The samples frame by frame, channels side by side (what audio writers take).
    public var interleaved: [Float] {
        let frames = self.frames
        var result = [Float](repeating: 0, count: samples.count)
        for channel in 0..<channels {
            for frame in 0..<frames { result[frame * channels + channel] = samples[channel * frames + frame] }
        }
        return result
    }
}
