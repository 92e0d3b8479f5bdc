import CFFmpeg
import Foundation

/// Decodes the sound of a media file: the best audio stream of an MP4, MOV, MKV, WebM or any file libavformat opens
/// (AAC, Opus, MP3, Vorbis, FLAC, PCM, whatever libavcodec decodes), whole, as float samples at the stream's own
/// sample rate, so a command that remakes a video can carry its sound into the new file.
public enum AudioTrackReader {
    /// The most interleaved samples a track may decode to: 2³¹ floats, 8 GiB, which is 6.2 hours of 48 kHz stereo or
    /// 1.5 hours of 192 kHz stereo. A longer track is refused instead of being left to exhaust memory.
    public static let sampleLimit = 1 << 31

    /// The audio track of `url`, or nil when the file has no audio stream.
    ///
    /// - Channels: mono and stereo are kept as they are; more channels are downmixed to stereo (front centre and
    ///   surrounds at -3 dB, LFE left out, then scaled so that no output channel's gains sum past 1). A stream that
    ///   changes its sample rate or channels midway is converted to what its first frame had.
    /// - Start: the priming the file marks (an MP4 or MOV edit list, Opus pre-skip, Matroska codec delay) is dropped
    ///   by libavformat and libavcodec, as every player does. The buffer then starts at the file's first video
    ///   frame, the first one ``VideoReader`` returns: a track that starts later is preceded by silence, one that
    ///   starts earlier loses its lead, and a difference within one timestamp tick of either stream is left alone.
    ///   A file without video (a cover picture does not count) starts at the track's first sample. Gaps later in the
    ///   timestamps are not filled: the samples follow each other as they are decoded.
    /// - End: where the stream states its duration (MP4 and MOV do), the decoder's padding past it is cut off.
    /// - Throws: `MediaError.notARegularFile` for a FIFO, device, socket or directory; `.outOfRange` naming the file
    ///   for a sample rate outside ``ValueBounds/sampleRate``, a start more than a day from the video's, or a track
    ///   of more than `sampleLimit` samples; `.unreadableFile` for a file libavformat cannot open, a packet it marks
    ///   corrupt, or a track that ends well before the length the file states for it (a file cut short: more than
    ///   0.2 s and 1 % short) or that this FFmpeg build cannot decode; `.ffmpeg` naming the call and the file when
    ///   reading or decoding fails.
    public static func read(_ url: URL, sampleLimit: Int = AudioTrackReader.sampleLimit) throws -> AudioBuffer? {
        let input = try InputFormat(path: url.path)
        guard let index = input.bestStream(AVMEDIA_TYPE_AUDIO) else { return nil }
        let stream = input.stream(index)
        let decoder: CodecContext
        do {
            decoder = try CodecContext(decoderFor: stream, path: url.path)
        } catch MediaError.codecUnavailable(let name) {
            throw MediaError.unreadableFile(
                path: url.path, reason: "this FFmpeg build cannot decode its '\(name)' audio")
        }
        let track = TrackAssembly(input: input, stream: stream, path: url.path, sampleLimit: sampleLimit)
        for other in 0..<input.streamCount where other != index {
            input.stream(other).pointee.discard = AVDISCARD_ALL
        }
        let packet = try Packet()
        while try input.read(into: packet) {
            guard packet.streamIndex == Int32(index) else { continue }
            if packet.pointer.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
                throw MediaError.unreadableFile(
                    path: url.path, reason: "its audio stream has a damaged packet; the file may be cut short")
            }
            try decoder.decode(packet, path: url.path, track.append)
        }
        try decoder.decode(nil, path: url.path, track.append)
        return try track.finish()
    }
}

/// Puts the decoded frames of one audio stream, converted to packed float, on the timeline of the file's video,
/// and checks them against the sample limit and the length the file states for the stream.
private final class TrackAssembly {
    private let path: String
    private let limit: Int
    /// The sample rate and channels the stream's header gives, for a stream that decodes to nothing.
    private let headerRate: Int
    private let headerChannels: Int
    private let timeBase: AVRational
    /// The first video frame's time, if the file has video with a known start.
    private let origin: (time: Int64, timeBase: AVRational)?
    /// Where the stream says it starts and how long it lasts, in `timeBase`; the duration is from the stream itself
    /// (`trimsToDuration`) or only from a Matroska DURATION tag.
    private let statedStart: Int64?
    private let statedDuration: Int64?
    private let trimsToDuration: Bool

    private var converter: SwrContextHandle?
    private var sampleRate = 0
    private var channels = 0
    private var samples: [Float] = []
    /// The first decoded sample's place in the buffer (negative when it precedes the video) and its time.
    private var first: (position: Int, time: Int64)?
    /// Frames converted so far, kept or dropped.
    private var decoded = 0
    /// Frames still to drop because they precede the video.
    private var lead = 0

    init(input: InputFormat, stream: UnsafeMutablePointer<AVStream>, path: String, sampleLimit: Int) {
        self.path = path
        limit = sampleLimit
        headerRate = Int(stream.pointee.codecpar.pointee.sample_rate)
        headerChannels = Int(stream.pointee.codecpar.pointee.ch_layout.nb_channels)
        timeBase = stream.pointee.time_base
        let unknown = kinora_AV_NOPTS_VALUE()
        if let index = input.bestStream(AVMEDIA_TYPE_VIDEO),
            input.stream(index).pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0,
            input.stream(index).pointee.start_time != unknown
        {
            origin = (input.stream(index).pointee.start_time, input.stream(index).pointee.time_base)
        } else {
            origin = nil
        }
        statedStart = stream.pointee.start_time != unknown ? stream.pointee.start_time : nil
        if stream.pointee.duration != unknown && stream.pointee.duration > 0
            && input.pointer.pointee.duration_estimation_method != AVFMT_DURATION_FROM_BITRATE
        {
            statedDuration = stream.pointee.duration
            trimsToDuration = true
        } else {
            let tag = InputFormat.tags(stream.pointee.metadata).first { $0.key.uppercased() == "DURATION" }?.value
            statedDuration = tag.flatMap(Self.seconds(fromDurationTag:)).map {
                Int64(($0 * Double(stream.pointee.time_base.den) / Double(stream.pointee.time_base.num)).rounded())
            }
            trimsToDuration = false
        }
    }

    func append(_ frame: Frame) throws {
        guard frame.pointer.pointee.nb_samples > 0 else { return }
        if first == nil { try start(at: frame) }
        if let converter, !converter.accepts(frame) {
            try add(converter.convert(nil, path: path))
            self.converter = nil
        }
        let converter = try converter ?? makeConverter(for: frame)
        self.converter = converter
        try add(converter.convert(frame, path: path))
    }

    /// The track, its padding past the stated duration cut off; throws if it ends well before that duration.
    func finish() throws -> AudioBuffer {
        if let converter { try add(converter.convert(nil, path: path)) }
        if first == nil {
            sampleRate = try checkedRate(headerRate)
            channels = min(max(headerChannels, 1), 2)
            first = (0, statedStart ?? 0)
        }
        let first = first!
        if let statedDuration {
            let start = Double(statedStart ?? first.time)
            let end = (start + Double(statedDuration) - Double(first.time)) * seconds(timeBase) * Double(sampleRate)
            let statedEnd = first.position + Int(max(-Double(limit), min(Double(limit), end.rounded())))
            let decodedEnd = first.position + decoded
            if trimsToDuration && frameCount > max(0, statedEnd) {
                samples.removeLast((frameCount - max(0, statedEnd)) * channels)
            }
            let tolerance = max(sampleRate / 5, (statedEnd - first.position) / 100)
            if statedEnd - decodedEnd > tolerance {
                let rate = Double(sampleRate)
                throw MediaError.unreadableFile(
                    path: path,
                    reason: "its audio track ends at \(Self.text(Double(decodedEnd) / rate)) s although the file "
                        + "gives it \(Self.text(Double(statedEnd) / rate)) s; the file is cut short or damaged")
            }
        }
        return try AudioBuffer(sampleRate: sampleRate, channels: channels, samples: samples)
    }

    private var frameCount: Int { samples.count / channels }

    /// Takes the track's rate and channels from its first frame and places it against the video.
    private func start(at frame: Frame) throws {
        let source = frame.pointer.pointee
        sampleRate = try checkedRate(Int(source.sample_rate))
        guard source.ch_layout.nb_channels > 0 else {
            throw MediaError.unreadableFile(path: path, reason: "its audio track has no channels")
        }
        channels = min(Int(source.ch_layout.nb_channels), 2)
        let unknown = kinora_AV_NOPTS_VALUE()
        let time = source.best_effort_timestamp != unknown ? source.best_effort_timestamp : source.pts
        var position = 0
        if let origin, time != unknown {
            let offset = try ValueBounds.check(
                Double(time) * seconds(timeBase) - Double(origin.time) * seconds(origin.timeBase),
                "the start of the audio track of '\(path)' relative to its video", in: -86_400...86_400, unit: "s")
            let tick = max(seconds(timeBase), seconds(origin.timeBase)) * Double(sampleRate)
            let frames = offset * Double(sampleRate)
            if abs(frames) > tick { position = Int(frames.rounded()) }
        }
        first = (position, time != unknown ? time : statedStart ?? 0)
        lead = max(0, -position)
        try checkLimit(adding: max(0, position) * channels)
        samples.append(contentsOf: repeatElement(0, count: max(0, position) * channels))
    }

    private func makeConverter(for frame: Frame) throws -> SwrContextHandle {
        _ = try checkedRate(Int(frame.pointer.pointee.sample_rate))
        guard frame.pointer.pointee.ch_layout.nb_channels > 0 else {
            throw MediaError.unreadableFile(path: path, reason: "its audio track has a frame without channels")
        }
        return try SwrContextHandle(convertingFramesLike: frame, channels: channels, rate: sampleRate, path: path)
    }

    /// Appends converted samples, less the lead still to drop.
    private func add(_ chunk: [Float]) throws {
        let frames = chunk.count / channels
        decoded += frames
        let dropped = min(lead, frames)
        lead -= dropped
        try checkLimit(adding: (frames - dropped) * channels)
        samples.append(contentsOf: chunk[(dropped * channels)...])
    }

    private func checkLimit(adding count: Int) throws {
        guard samples.count + count <= limit else {
            let seconds = Self.text(Double(limit / channels) / Double(sampleRate))
            throw MediaError.outOfRange(
                what: "the decoded audio track of '\(path)'", value: "more than \(limit) samples",
                allowed: "0...\(limit) interleaved samples (\(seconds) s at its \(sampleRate) Hz and \(channels) "
                    + "channel\(channels == 1 ? "" : "s"))")
        }
    }

    private func checkedRate(_ rate: Int) throws -> Int {
        try ValueBounds.check(
            rate, "the sample rate of the audio track of '\(path)'", in: ValueBounds.sampleRate, unit: "Hz")
    }

    private func seconds(_ timeBase: AVRational) -> Double { Double(timeBase.num) / Double(timeBase.den) }

    /// Seconds from Matroska's per-track DURATION tag, `HH:MM:SS.nnnnnnnnn`.
    private static func seconds(fromDurationTag tag: String) -> Double? {
        let parts = tag.split(separator: ":")
        guard parts.count == 3, let hours = Double(parts[0]), let minutes = Double(parts[1]),
            let seconds = Double(parts[2])
        else { return nil }
        let total = hours * 3600 + minutes * 60 + seconds
        return ValueBounds.seconds.contains(total) ? total : nil
    }

    private static func text(_ value: Double) -> String { String(format: "%.3f", value) }
}
