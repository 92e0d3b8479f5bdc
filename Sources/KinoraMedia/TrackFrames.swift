import Foundation

/// Where a mix track's audio comes from: samples already in memory, or a file the mix reads a block at a time as it
/// reaches the track, so a long cue is never held whole.
public enum TrackAudio: Sendable {
    /// Samples in memory.
    case buffer(AudioBuffer)
    /// An audio file libsndfile reads (WAV, FLAC, OGG, ...).
    case file(URL)
}

/// A track's audio at the mix's sample rate and channel count, read a range of frames at a time. Frames past the
/// audio's end (a looped track's) come from its start again: frame `i` is the audio's frame `i % frameCount`.
protocol TrackFrames: AnyObject {
    /// Channels of the frames read: the mix's.
    var channels: Int { get }
    /// Frames of the audio at the mix's rate.
    var frameCount: Int { get }
    /// Frames `range` of the track, interleaved. A file's frames are read in order: each range must start where
    /// the one before ended, the first at 0.
    func read(_ range: Range<Int>) throws -> [Float]
}

/// Makes the frames of `audio` for a mix at `sampleRate` with `channels` channels: a buffer is resampled once and
/// held, a file is streamed.
func makeTrackFrames(_ audio: TrackAudio, sampleRate: Int, channels: Int) throws -> any TrackFrames {
    switch audio {
    case let .buffer(buffer):
        return HeldTrackFrames(try Resampler.resample(buffer, to: sampleRate).withChannels(channels))
    case let .file(url):
        return try StreamedTrackFrames(url: url, sampleRate: sampleRate, channels: channels)
    }
}

/// A track's audio held whole at the mix's rate and channels, read anywhere.
final class HeldTrackFrames: TrackFrames {
    private let audio: AudioBuffer

    init(_ audio: AudioBuffer) {
        self.audio = audio
    }

    var channels: Int { audio.channels }
    var frameCount: Int { audio.frameCount }

    func read(_ range: Range<Int>) throws -> [Float] {
        let sourceFrames = audio.frameCount
        var samples = [Float](repeating: 0, count: range.count * channels)
        audio.samples.withUnsafeBufferPointer { source in
            for (index, frame) in range.enumerated() {
                let from = (frame < sourceFrames ? frame : frame % sourceFrames) * channels
                for channel in 0..<channels { samples[index * channels + channel] = source[from + channel] }
            }
        }
        return samples
    }
}

/// A track's audio pulled from its file a block at a time, through a resampler where the file has another rate
/// (the same samples as resampling it whole) and converted to the mix's channels frame by frame. A looped track
/// opens the file again at each repeat, so memory stays that of one block however long the audio or the loop.
final class StreamedTrackFrames: TrackFrames {
    private let url: URL
    private let sampleRate: Int
    let channels: Int
    let frameCount: Int
    /// The file at the mix's rate, and how many of its frames have been read since it was opened.
    private var source: AudioSource
    private var delivered = 0
    /// The next track frame to read.
    private var position = 0

    init(url: URL, sampleRate: Int, channels: Int) throws {
        self.url = url
        self.sampleRate = sampleRate
        self.channels = channels
        source = try Self.open(url, at: sampleRate)
        frameCount = source.frameCount
    }

    func read(_ range: Range<Int>) throws -> [Float] {
        precondition(range.lowerBound == position, "a streamed track is read in order")
        var samples: [Float] = []
        samples.reserveCapacity(range.count * channels)
        var remaining = range.count
        while remaining > 0 {
            if delivered == frameCount {
                source = try Self.open(url, at: sampleRate)
                delivered = 0
            }
            let wanted = min(remaining, frameCount - delivered)
            var piece = try source.read(frames: wanted)
            // A file shorter than its header says goes on in silence to the length the header gives.
            piece += repeatElement(0, count: wanted * source.channels - piece.count)
            if source.channels != channels {
                piece = try AudioBuffer(sampleRate: sampleRate, channels: source.channels, samples: piece)
                    .withChannels(channels).samples
            }
            samples += piece
            delivered += wanted
            remaining -= wanted
        }
        position = range.upperBound
        return samples
    }

    /// `url` read from its start, resampled to `sampleRate` when it has another rate.
    private static func open(_ url: URL, at sampleRate: Int) throws -> AudioSource {
        let file = try AudioFileReader(url: url)
        return file.sampleRate == sampleRate ? file : try ResampledSource(file, to: sampleRate)
    }
}
