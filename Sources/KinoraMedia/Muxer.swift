import CFFmpeg

/// Encodes the mixed audio into its stream of an output file, interleaved with the video: audio is written up to
/// the video's running time, and at the end trimmed or padded with silence to the video's exact duration. The audio
/// is pulled from its source a piece at a time (resampled on the way where the encoder needs another rate), so the
/// muxer holds about one encoder frame of it whatever the length.
final class AudioStreamMuxer {
    private let encoder: CodecContext
    private let streamIndex: Int32
    private let source: AudioSource
    private let channels: Int
    private let chunk: Int
    private let frame: Frame
    private let planar: Bool
    /// Samples at the encoder's rate pulled from the source and not yet encoded.
    private var pending: [Float] = []
    private var ended = false
    private var written = 0

    /// The encoder's sample rate (the audio is resampled to it).
    var sampleRate: Int { encoder.sampleRate }

    init(audio: AudioSource, container: VideoContainer, output: OutputFormat, bitRate: Int) throws {
        encoder = try CodecContext(encoderNamed: container.audioEncoderName)
        channels = audio.channels
        try encoder.configureAudio(sampleRate: audio.sampleRate, channels: channels, bitRate: bitRate,
                                   globalHeader: output.needsGlobalHeader)
        guard output.supports(encoder) else {
            throw MediaError.codecNotSupportedByContainer(codec: encoder.name, container: container.rawValue)
        }
        try encoder.open(options: [:], path: output.path)
        source = encoder.sampleRate == audio.sampleRate ? audio
            : try ResampledSource(audio, to: encoder.sampleRate)
        chunk = encoder.frameSize > 0 ? encoder.frameSize : 1024
        planar = encoder.sampleFormat == AV_SAMPLE_FMT_FLTP
        frame = try Frame(samples: chunk, sampleFormat: encoder.sampleFormat, channels: channels,
                          sampleRate: encoder.sampleRate)
        streamIndex = try output.addStream(for: encoder)
    }

    /// Encodes whole encoder frames while they end at or before `frames` (a position at the encoder's rate).
    func encode(upTo frames: Int, into output: OutputFormat) throws {
        while written + chunk <= frames {
            try encodeChunk(count: chunk, into: output)
        }
    }

    /// Encodes the rest up to exactly `frames` (silence past the end of the audio), then flushes the encoder.
    func finish(at frames: Int, into output: OutputFormat) throws {
        try encode(upTo: frames, into: output)
        if frames > written { try encodeChunk(count: frames - written, into: output) }
        try encoder.encode(nil, path: output.path) { try output.write($0, stream: streamIndex) }
    }

    private func encodeChunk(count: Int, into output: OutputFormat) throws {
        try pull(count)
        try frame.makeWritable()
        frame.pointer.pointee.nb_samples = Int32(count)
        frame.fillAudio(from: pending, channels: channels, start: 0, count: count, planar: planar)
        pending.removeFirst(min(pending.count, count * channels))
        frame.pts = Int64(written)
        written += count
        try encoder.encode(frame, path: output.path) { try output.write($0, stream: streamIndex) }
    }

    /// Pulls from the source until `count` frames are pending or the audio has ended.
    private func pull(_ count: Int) throws {
        while pending.count < count * channels && !ended {
            let piece = try source.read(frames: max(count, 4096))
            ended = piece.isEmpty
            pending += piece
        }
    }
}

/// Encodes timed text into a subtitle stream (mov_text in MP4/MOV, SubRip in MKV, WebVTT in WebM).
final class SubtitleStreamMuxer {
    private let encoder: CodecContext
    private let streamIndex: Int32
    private let cues: [SubtitleCue]

    init(cues: [SubtitleCue], container: VideoContainer, output: OutputFormat) throws {
        encoder = try CodecContext(encoderNamed: container.subtitleEncoderName)
        encoder.configureSubtitles(globalHeader: output.needsGlobalHeader)
        guard output.supports(encoder) else {
            throw MediaError.codecNotSupportedByContainer(codec: encoder.name, container: container.rawValue)
        }
        try encoder.open(options: [:], path: output.path)
        streamIndex = try output.addStream(for: encoder)
        self.cues = cues.sorted { $0.start < $1.start }
    }

    /// Writes every cue; call after the header. Timestamps are in milliseconds.
    func writeAll(into output: OutputFormat) throws {
        for cue in cues {
            let start = Int((cue.start * 1000).rounded())
            let duration = Int((cue.end * 1000).rounded()) - start
            let packet = try encoder.encodeSubtitle(text: cue.text, durationMs: duration, path: output.path)
            packet.pointer.pointee.pts = Int64(start)
            packet.pointer.pointee.dts = Int64(start)
            packet.pointer.pointee.duration = Int64(duration)
            try output.write(packet, stream: streamIndex)
        }
    }
}
