import CFFmpeg
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Streams frames into a video file as they are produced, so memory stays flat for any length. Optional mixed
/// audio and subtitles are muxed alongside; the audio is trimmed or padded to the video's duration. The file
/// appears under its final name only when ``finish()`` succeeds; any failure removes the partial file.
///
/// `append(frame:)` converts the frame to the codec's pixel format on the caller's thread and queues it; encoding
/// and muxing run on a thread of the writer's own, a few frames behind. An encoding error is thrown by the next
/// `append(frame:)` or by `finish()`.
///
/// ```swift
/// let writer = try VideoWriter(url: out, settings: VideoSettings(codec: .h264, frameRate: FrameRate(24)))
/// for frame in frames { try writer.append(frame: frame) }
/// try writer.finish()
/// ```
public final class VideoWriter {
    /// The final path of the video.
    public let url: URL
    /// The encoding settings.
    public let settings: VideoSettings
    /// Frames appended so far.
    public private(set) var frameCount = 0

    private let container: VideoContainer
    private let output: AtomicOutput
    private let audio: AudioSource?
    private let subtitles: [SubtitleCue]
    private var session: Session?
    private var pipeline: EncodePipeline?
    private var closed = false

    /// Pictures circulating between conversion and encoding: one being filled, one being encoded, one waiting.
    private static let pipelineDepth = 3

    /// Everything that exists once the first frame fixed the size: the file, encoders and converter. The
    /// encoder, muxer and audio belong to the encoding thread until its pipeline has finished.
    private final class Session {
        let format: OutputFormat
        let encoder: CodecContext
        let stream: Int32
        let pixelFormat: AVPixelFormat
        /// Slice-threaded like FFmpeg's scale filter (one thread per core).
        let converter = PixelConverter(accurate: false, threads: 0)
        let audio: AudioStreamMuxer?
        let frameRate: FrameRate
        let path: String
        let width: Int
        let height: Int
        let encodedWidth: Int
        let encodedHeight: Int

        init(format: OutputFormat, encoder: CodecContext, stream: Int32, pixelFormat: AVPixelFormat,
             audio: AudioStreamMuxer?, frameRate: FrameRate, path: String, width: Int, height: Int,
             encodedWidth: Int, encodedHeight: Int) {
            self.format = format
            self.encoder = encoder
            self.stream = stream
            self.pixelFormat = pixelFormat
            self.audio = audio
            self.frameRate = frameRate
            self.path = path
            self.width = width
            self.height = height
            self.encodedWidth = encodedWidth
            self.encodedHeight = encodedHeight
        }

        /// Encodes one converted picture, muxes its packets and the audio that covers the video so far.
        func encode(_ picture: Frame) throws {
            try encoder.encode(picture, path: path) { packet in
                try format.write(packet, stream: stream)
            }
            if let audio {
                try audio.encode(upTo: audioFrames(videoFrames: Int(picture.pts) + 1, at: audio.sampleRate),
                                 into: format)
            }
        }

        /// Audio frames at `sampleRate` that cover `videoFrames` frames of video.
        func audioFrames(videoFrames: Int, at sampleRate: Int) -> Int {
            let numerator = videoFrames * frameRate.denominator * sampleRate
            return (numerator + frameRate.numerator / 2) / frameRate.numerator
        }
    }

    /// Prepares a writer; the container comes from the extension of `url` (.mp4, .mov, .mkv, .webm). Fails at once
    /// if the directory cannot be written or the encoder is missing.
    public convenience init(url: URL, settings: VideoSettings, audio: AudioBuffer? = nil,
                            subtitles: [SubtitleCue] = []) throws {
        try self.init(url: url, settings: settings, audioSource: audio.map(AudioBufferSource.init),
                      subtitles: subtitles)
    }

    /// Prepares a writer whose audio is pulled from `audioSource` a piece at a time as the video advances (on the
    /// writer's encoding thread), so a long soundtrack read from a file is never held whole.
    public init(url: URL, settings: VideoSettings, audioSource audio: AudioSource?,
                subtitles: [SubtitleCue] = []) throws {
        container = try VideoContainer(for: url)
        _ = try settings.codec.encoderOptions(crf: settings.crf, preset: settings.preset)
        _ = try CodecContext(encoderNamed: settings.codec.encoderName)
        if let audio, audio.channels > 2 {
            throw MediaError.invalidArgument("muxed audio must be mono or stereo, got \(audio.channels) channels")
        }
        output = try AtomicOutput(url)
        self.url = output.finalURL
        self.settings = settings
        self.audio = audio
        self.subtitles = subtitles
    }

    /// Encodes one frame. Every frame must have the size of the first.
    public func append(frame: VideoFrame) throws {
        guard !closed else { throw MediaError.writerClosed(path: url.path) }
        do {
            let session = try self.session ?? start(width: frame.width, height: frame.height)
            self.session = session
            let pipeline = try self.pipeline ?? EncodePipeline(
                pictures: (0..<Self.pipelineDepth).map { _ in
                    try Frame(width: session.encodedWidth, height: session.encodedHeight,
                              pixelFormat: session.pixelFormat)
                },
                encode: session.encode)
            self.pipeline = pipeline
            guard frame.width == session.width, frame.height == session.height else {
                throw MediaError.frameSizeMismatch(index: frameCount, expected: "\(session.width)x\(session.height)",
                                                   got: "\(frame.width)x\(frame.height)")
            }
            var pixels = frame.rgb8
            if session.encodedWidth != session.width || session.encodedHeight != session.height {
                pixels = Self.padded(pixels, width: session.width, height: session.height,
                                     toWidth: session.encodedWidth, toHeight: session.encodedHeight)
            }
            let picture = try pipeline.take()
            try picture.makeWritable()
            try session.converter.convert(rgb24: pixels, width: session.encodedWidth, height: session.encodedHeight,
                                          into: picture)
            picture.pts = Int64(frameCount)
            pipeline.submit(picture)
            frameCount += 1
        } catch {
            fail()
            throw error
        }
    }

    /// Flushes the encoders, writes the trailer and moves the file to its final name.
    @discardableResult
    public func finish() throws -> URL {
        guard !closed else { throw MediaError.writerClosed(path: url.path) }
        do {
            guard let session, let pipeline else { throw MediaError.noFrames(path: url.path) }
            try pipeline.finish()
            self.pipeline = nil
            try session.encoder.encode(nil, path: url.path) { packet in
                try session.format.write(packet, stream: session.stream)
            }
            if let audio = session.audio {
                try audio.finish(at: session.audioFrames(videoFrames: frameCount, at: audio.sampleRate),
                                 into: session.format)
            }
            try session.format.finish()
            self.session = nil
            if settings.live { output.discard() } else { try output.commit() }
            closed = true
            return url
        } catch {
            fail()
            throw error
        }
    }

    private func fail() {
        closed = true
        pipeline?.cancel()
        pipeline = nil
        session = nil
        output.discard()
        if settings.live { unlink(url.path) }
    }

    deinit {
        pipeline?.cancel()
        // A live file left unfinished is removed, as a temporary would be.
        if settings.live, !closed, session != nil {
            session = nil
            unlink(url.path)
        }
    }

    private func start(width: Int, height: Int) throws -> Session {
        let codec = settings.codec
        var encodedWidth = width
        var encodedHeight = height
        let oddWidth = codec.needsEvenWidth && width % 2 == 1
        let oddHeight = codec.needsEvenHeight && height % 2 == 1
        if oddWidth || oddHeight {
            guard settings.padOddDimensions else {
                throw MediaError.oddDimensions(width: width, height: height, codec: codec.rawValue)
            }
            if oddWidth { encodedWidth += 1 }
            if oddHeight { encodedHeight += 1 }
        }
        let path = settings.live ? url.path : output.temporaryURL.path
        let format = try OutputFormat(path: path, muxerName: container.muxerName)
        let encoder = try CodecContext(encoderNamed: codec.encoderName)
        guard format.supports(encoder) else {
            throw MediaError.codecNotSupportedByContainer(codec: codec.rawValue, container: container.rawValue)
        }
        let pixelFormat = try PixelConverter.pixelFormat(named: codec.pixelFormatName)
        encoder.configureVideo(width: encodedWidth, height: encodedHeight, pixelFormat: pixelFormat,
                               frameRate: settings.frameRate, bt709: codec.isYUV,
                               globalHeader: format.needsGlobalHeader)
        try encoder.open(options: codec.encoderOptions(crf: settings.crf, preset: settings.preset), path: url.path)
        let stream = try format.addStream(for: encoder, frameRate: settings.frameRate)
        let audioMuxer = try audio.map {
            try AudioStreamMuxer(audio: $0, container: container, output: format, bitRate: settings.audioBitRate)
        }
        let subtitleMuxer = try subtitles.isEmpty ? nil
            : SubtitleStreamMuxer(cues: subtitles, container: container, output: format)
        try format.setMetadata(settings.metadata)
        try format.writeHeader(options: settings.live ? container.liveMuxerOptions : container.muxerOptions)
        try subtitleMuxer?.writeAll(into: format)
        return Session(format: format, encoder: encoder, stream: stream, pixelFormat: pixelFormat, audio: audioMuxer,
                       frameRate: settings.frameRate, path: url.path, width: width, height: height,
                       encodedWidth: encodedWidth, encodedHeight: encodedHeight)
    }

    /// `pixels` grown to `toWidth × toHeight` by repeating the last column and row.
    static func padded(_ pixels: [UInt8], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: toWidth * toHeight * 3)
        for y in 0..<toHeight {
            let sourceRow = min(y, height - 1) * width * 3
            for x in 0..<toWidth {
                let source = sourceRow + min(x, width - 1) * 3
                let target = (y * toWidth + x) * 3
                out[target] = pixels[source]
                out[target + 1] = pixels[source + 1]
                out[target + 2] = pixels[source + 2]
            }
        }
        return out
    }
}
