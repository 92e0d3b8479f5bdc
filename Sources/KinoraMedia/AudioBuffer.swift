/// Audio samples in memory: 32-bit float, interleaved by channel, at one sample rate. Full scale is ±1.
public struct AudioBuffer: Sendable, Equatable {
    /// Samples per second of each channel.
    public var sampleRate: Int
    /// Number of interleaved channels.
    public var channels: Int
    /// Interleaved samples: frame `i`, channel `c` is at `i * channels + c`.
    public var samples: [Float]

    /// Wraps interleaved samples; `samples.count` must be a multiple of `channels`.
    public init(sampleRate: Int, channels: Int, samples: [Float]) throws {
        guard sampleRate > 0 else { throw MediaError.invalidArgument("sample rate must be positive, got \(sampleRate)") }
        guard channels > 0 else { throw MediaError.invalidArgument("channel count must be positive, got \(channels)") }
        guard samples.count % channels == 0 else {
            throw MediaError.invalidArgument("\(samples.count) samples do not divide into \(channels) channels")
        }
        self.sampleRate = sampleRate
        self.channels = channels
        self.samples = samples
    }

    /// Silence of the given length.
    public init(silenceOf frameCount: Int, sampleRate: Int, channels: Int) throws {
        try self.init(sampleRate: sampleRate, channels: channels,
                      samples: [Float](repeating: 0, count: max(0, frameCount) * channels))
    }

    /// Samples per channel.
    public var frameCount: Int { samples.count / channels }

    /// Length in seconds.
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// The sample of `channel` at frame `frame`.
    public subscript(frame: Int, channel: Int) -> Float {
        get { samples[frame * channels + channel] }
        set { samples[frame * channels + channel] = newValue }
    }

    /// The same audio with `count` channels: mono is copied to every channel, and more channels are averaged
    /// down to mono or to stereo (odd channels left, even channels right).
    public func withChannels(_ count: Int) throws -> AudioBuffer {
        guard count != channels else { return self }
        guard count == 1 || count == 2 || channels == 1 else {
            throw MediaError.invalidArgument("cannot convert \(channels) channels to \(count)")
        }
        var out = [Float](repeating: 0, count: frameCount * count)
        for frame in 0..<frameCount {
            let base = frame * channels
            if channels == 1 {
                for c in 0..<count { out[frame * count + c] = samples[base] }
            } else if count == 1 {
                var sum: Float = 0
                for c in 0..<channels { sum += samples[base + c] }
                out[frame] = sum / Float(channels)
            } else {
                var left: Float = 0
                var right: Float = 0
                for c in 0..<channels {
                    if c % 2 == 0 { left += samples[base + c] } else { right += samples[base + c] }
                }
                out[frame * 2] = left / Float((channels + 1) / 2)
                out[frame * 2 + 1] = right / Float(channels / 2)
            }
        }
        return try AudioBuffer(sampleRate: sampleRate, channels: count, samples: out)
    }

    /// The same audio cut or padded with silence to exactly `frameCount` frames.
    public func resized(to frameCount: Int) -> AudioBuffer {
        var copy = self
        let wanted = max(0, frameCount) * channels
        if wanted < samples.count {
            copy.samples.removeLast(samples.count - wanted)
        } else {
            copy.samples.append(contentsOf: repeatElement(0, count: wanted - samples.count))
        }
        return copy
    }

    /// The largest absolute sample value.
    public var peak: Float { samples.reduce(0) { max($0, abs($1)) } }
}
