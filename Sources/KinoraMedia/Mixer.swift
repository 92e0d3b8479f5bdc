import Foundation

/// What a track is, which decides whether it ducks or is ducked.
public enum TrackRole: String, Sendable, CaseIterable {
    /// Speech: the key that ducks music.
    case voice
    /// Music: turned down under voice.
    case music
    /// Sound effects and ambience: left alone.
    case effect
}

/// One stem placed on the timeline.
public struct MixTrack: Sendable {
    /// Name used for the stem.
    public var name: String
    /// The audio, in memory or in a file; resampled and converted to the mix's format as needed.
    public var audio: TrackAudio
    /// Voice, music or effect.
    public var role: TrackRole
    /// Start on the timeline in seconds (rounded to the nearest sample).
    public var start: Double
    /// Gain in dB.
    public var gainDB: Double
    /// Linear fade-in length from the track's start, in seconds.
    public var fadeIn: Double
    /// Linear fade-out length up to the track's end, in seconds.
    public var fadeOut: Double
    /// Balance from -1 (left only) through 0 (both channels at unity) to 1 (right only).
    public var pan: Double
    /// How long the track lasts in seconds (rounded to the nearest sample at the mix's rate): its audio is cut
    /// there, or, when `loop` is set, repeated up to there. Nil: its audio's own length.
    public var length: Double?
    /// Whether the audio repeats until `length`.
    public var loop: Bool

    /// A track of audio in memory.
    public init(name: String, audio: AudioBuffer, role: TrackRole = .effect, start: Double = 0, gainDB: Double = 0,
                fadeIn: Double = 0, fadeOut: Double = 0, pan: Double = 0, length: Double? = nil, loop: Bool = false) {
        self.init(name: name, source: .buffer(audio), role: role, start: start, gainDB: gainDB, fadeIn: fadeIn,
                  fadeOut: fadeOut, pan: pan, length: length, loop: loop)
    }

    /// A track whose audio is `source`: a buffer, or a file the streaming mix reads a block at a time.
    public init(name: String, source: TrackAudio, role: TrackRole = .effect, start: Double = 0, gainDB: Double = 0,
                fadeIn: Double = 0, fadeOut: Double = 0, pan: Double = 0, length: Double? = nil,
                loop: Bool = false) {
        self.name = name
        self.audio = source
        self.role = role
        self.start = start
        self.gainDB = gainDB
        self.fadeIn = fadeIn
        self.fadeOut = fadeOut
        self.pan = pan
        self.length = length
        self.loop = loop
    }
}

/// Settings of the master bus.
public struct MixSettings: Sendable {
    /// Sample rate of the mix.
    public var sampleRate: Int
    /// 1 (mono) or 2 (stereo).
    public var channels: Int
    /// Ducking of music under voice; nil turns it off.
    public var ducking: DuckingSettings?
    /// Integrated loudness target in LUFS; nil leaves the level alone.
    public var loudnessTarget: Double?
    /// True-peak ceiling in dBTP, held by a limiter after normalisation.
    public var truePeakCeiling: Double
    /// Length of the mix in seconds; nil ends it with the last track.
    public var duration: Double?

    public init(sampleRate: Int = 48000, channels: Int = 2, ducking: DuckingSettings? = DuckingSettings(),
                loudnessTarget: Double? = -14, truePeakCeiling: Double = -1, duration: Double? = nil) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.ducking = ducking
        self.loudnessTarget = loudnessTarget
        self.truePeakCeiling = truePeakCeiling
        self.duration = duration
    }
}

/// The mix and its stems.
public struct MixResult: Sendable {
    /// The master: sum of the stems, normalised and limited.
    public let mix: AudioBuffer
    /// Each track as placed on the timeline, after gain, fades, pan, ducking and the master normalisation gain
    /// (but before the limiter), in track order.
    public let stems: [(name: String, audio: AudioBuffer)]
    /// Gain the normaliser applied, in dB (0 without a loudness target).
    public let normalizationGainDB: Double
    /// Integrated loudness and true peak the master reached: the target, or as close as the true-peak ceiling
    /// allowed (nil without a loudness target).
    public let loudness: LoudnessMeasurement?
}

/// Mixes tracks into one master: places each on the timeline, applies gain, fades and pan, ducks music under
/// voice, and normalises the loudness. ``mix(_:)`` holds the whole timeline once per stem and returns the stems;
/// ``mix(_:blockFrames:scratchDirectory:write:)`` makes the same master block by block in memory that grows neither
/// with the timeline nor, for tracks from files, with their audio.
public struct Mixer: Sendable {
    public var settings: MixSettings

    public init(settings: MixSettings = MixSettings()) {
        self.settings = settings
    }

    public func mix(_ tracks: [MixTrack]) throws -> MixResult {
        guard settings.channels == 1 || settings.channels == 2 else {
            throw MediaError.invalidArgument("a mix has 1 or 2 channels, not \(settings.channels)")
        }
        guard !tracks.isEmpty else { throw MediaError.invalidArgument("a mix needs at least one track") }
        try checkBounds(tracks)
        let rate = settings.sampleRate
        let placed = try tracks.map { try PlacedTrack($0, settings: settings) }
        let length = timelineLength(placed)
        try checkMemory(frames: length, stems: tracks.count)
        var stems = try placed.map { try place($0, length: length) }
        if let ducking = settings.ducking, tracks.contains(where: { $0.role == .voice }) {
            var key = try AudioBuffer(silenceOf: length, sampleRate: rate, channels: settings.channels)
            for (track, stem) in zip(tracks, stems) where track.role == .voice {
                for i in key.samples.indices { key.samples[i] += stem.samples[i] }
            }
            let curve = Ducker(settings: ducking, sampleRate: rate).gainCurve(key: key)
            for index in stems.indices where tracks[index].role == .music {
                for frame in 0..<length {
                    for channel in 0..<settings.channels { stems[index][frame, channel] *= curve[frame] }
                }
            }
        }
        var mix = try AudioBuffer(silenceOf: length, sampleRate: rate, channels: settings.channels)
        for stem in stems {
            for i in mix.samples.indices { mix.samples[i] += stem.samples[i] }
        }
        var gainDB = 0.0
        var loudness: LoudnessMeasurement?
        if let target = settings.loudnessTarget {
            let normalized = try Loudness.normalize(mix, targetLUFS: target, truePeakCeiling: settings.truePeakCeiling)
            (mix, gainDB, loudness) = (normalized.audio, normalized.gainDB, normalized.loudness)
            let gain = Float(pow(10, gainDB / 20))
            for index in stems.indices {
                for i in stems[index].samples.indices { stems[index].samples[i] *= gain }
            }
        }
        return MixResult(mix: mix, stems: zip(tracks, stems).map { ($0.name, $1) }, normalizationGainDB: gainDB,
                         loudness: loudness)
    }

    /// Frames of the mix: the settings' duration, or up to the end of the last track.
    func timelineLength(_ placed: [PlacedTrack]) -> Int {
        settings.duration.map { Int(($0 * Double(settings.sampleRate)).rounded()) }
            ?? placed.map { $0.start + $0.frameCount }.max() ?? 0
    }

    /// Every number of the settings and the tracks within its `ValueBounds` range, before any of them sizes a
    /// buffer or becomes a sample index.
    func checkBounds(_ tracks: [MixTrack]) throws {
        try ValueBounds.check(settings.sampleRate, "the mix's sample rate", in: ValueBounds.sampleRate, unit: "Hz")
        if let duration = settings.duration {
            try ValueBounds.check(duration, "the mix's duration", in: ValueBounds.seconds, unit: "s")
        }
        if let target = settings.loudnessTarget {
            try ValueBounds.check(target, "the loudness target", in: ValueBounds.loudness, unit: "LUFS")
        }
        try ValueBounds.check(settings.truePeakCeiling, "the true-peak ceiling", in: ValueBounds.truePeak, unit: "dBTP")
        if let ducking = settings.ducking {
            try ValueBounds.check(ducking.reductionDB, "the ducking amount", in: ValueBounds.duckingDB, unit: "dB")
            try ValueBounds.check(ducking.thresholdDB, "the ducking threshold", in: ValueBounds.duckingThresholdDB,
                                  unit: "dB")
            try ValueBounds.check(ducking.attack, "the ducking attack", in: ValueBounds.duckingTime, unit: "s")
            try ValueBounds.check(ducking.release, "the ducking release", in: ValueBounds.duckingTime, unit: "s")
        }
        for track in tracks {
            let name = "track '\(track.name)'"
            try ValueBounds.check(track.start, "\(name) start", in: ValueBounds.seconds, unit: "s")
            try ValueBounds.check(track.gainDB, "\(name) gain", in: ValueBounds.gainDB, unit: "dB")
            try ValueBounds.check(track.fadeIn, "\(name) fade-in", in: ValueBounds.fade, unit: "s")
            try ValueBounds.check(track.fadeOut, "\(name) fade-out", in: ValueBounds.fade, unit: "s")
            try ValueBounds.check(track.pan, "\(name) pan", in: ValueBounds.pan)
            if let length = track.length {
                try ValueBounds.check(length, "\(name) length", in: ValueBounds.seconds, unit: "s")
            }
        }
    }

    /// Refuses a mix whose timeline, one buffer per stem plus the key, the master and the normalised copy, would
    /// not fit in this machine's memory, instead of failing to allocate it.
    private func checkMemory(frames: Int, stems: Int) throws {
        let bytes = Double(frames) * Double(settings.channels) * Double(stems + 3) * Double(MemoryLayout<Float>.size)
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        guard bytes <= available else {
            let seconds = Double(frames) / Double(settings.sampleRate)
            throw MediaError.invalidArgument(String(
                format: "a %.0f s mix of %d tracks at %d Hz needs about %.1f GB of memory, more than this machine's "
                    + "%.1f GB; shorten the timeline (track starts) or mix fewer tracks at once",
                seconds, stems, settings.sampleRate, bytes / 1e9, available / 1e9))
        }
    }

    /// One track on a silent timeline of `length` frames, with its gain, fades and pan.
    private func place(_ track: PlacedTrack, length: Int) throws -> AudioBuffer {
        var stem = try AudioBuffer(silenceOf: length, sampleRate: settings.sampleRate, channels: settings.channels)
        let frames = min(track.frameCount, length - track.start)
        guard frames > 0 else { return stem }
        try track.render(frames: 0..<frames, into: &stem.samples, at: track.start)
        return stem
    }
}

/// A track ready to be placed: its audio at the mix's rate and channels, where it starts and how long it lasts on
/// the timeline, and the envelope and balance that shape it. A looped track reads its audio modulo its length; a
/// track from a file reads it in order, a block at a time (``TrackFrames``).
struct PlacedTrack {
    let role: TrackRole
    let audio: any TrackFrames
    /// First frame on the timeline.
    let start: Int
    /// Frames the track lasts: its audio's, cut to its length or looped up to it.
    let frameCount: Int
    private let gain: Float
    private let fadeInFrames: Double
    private let fadeOutFrames: Double
    private let balance: [Float]

    init(_ track: MixTrack, settings: MixSettings) throws {
        let rate = Double(settings.sampleRate)
        role = track.role
        audio = try makeTrackFrames(track.audio, sampleRate: settings.sampleRate, channels: settings.channels)
        start = Int((track.start * rate).rounded())
        if let length = track.length {
            let frames = Int((length * rate).rounded())
            frameCount = track.loop && audio.frameCount > 0 ? frames : min(frames, audio.frameCount)
        } else {
            frameCount = audio.frameCount
        }
        gain = Float(pow(10, track.gainDB / 20))
        fadeInFrames = track.fadeIn * rate
        fadeOutFrames = track.fadeOut * rate
        balance = settings.channels == 2 ? [Float(min(1, 1 - track.pan)), Float(min(1, 1 + track.pan))] : [1]
    }

    /// Writes the track's frames `frames` (from its own start), with gain, fades and pan, into the interleaved
    /// `samples` from frame `position` on, replacing what is there. A track from a file is rendered in order: each
    /// range follows the one before.
    func render(frames: Range<Int>, into samples: inout [Float], at position: Int) throws {
        let channels = audio.channels
        let source = try audio.read(frames)
        samples.withUnsafeMutableBufferPointer { target in
            for frame in frames {
                var envelope = gain
                if Double(frame) < fadeInFrames { envelope *= Float(Double(frame) / fadeInFrames) }
                let remaining = Double(frameCount - frame)
                if remaining <= fadeOutFrames { envelope *= Float((remaining - 1) / fadeOutFrames) }
                let from = (frame - frames.lowerBound) * channels
                let to = (position + frame - frames.lowerBound) * channels
                for channel in 0..<channels {
                    target[to + channel] = source[from + channel] * envelope * balance[channel]
                }
            }
        }
    }
}
