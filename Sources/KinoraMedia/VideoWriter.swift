import CFFmpeg
import Foundation

/// Streams frames into a video file as they are produced, so memory stays flat for any length. Optional mixed
/// audio and subtitles are muxed alongside; the audio is trimmed or padded to the video's duration. The file
/// appears under its final name only when ``finish()`` succeeds; any failure removes the partial file.
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
    private let audio: AudioBuffer?
    private let subtitles: [SubtitleCue]
    private var session: Session?
    private var closed = false

    /// Everything that exists once the first frame fixed the size: the file, encoders and buffers.
    private final class Session {
        let format: OutputFormat
        let encoder: CodecContext
        let stream: Int32
        let frame: Frame
        let converter = PixelConverter(accurate: false)
        let audio: AudioStreamMuxer?
        let width: Int
        let height: Int
        let encodedWidth: Int
        let encodedHeight: Int

        init(format: OutputFormat, encoder: CodecContext, stream: Int32, frame: Frame, audio: AudioStreamMuxer?,
             width: Int, height: Int, encodedWidth: Int, encodedHeight: Int) {
            self.format = format
            self.encoder = encoder
            self.stream = stream
            self.frame = frame
            self.audio = audio
            self.width = width
            self.height = height
            self.encodedWidth = encodedWidth
            self.encodedHeight = encodedHeight
        }
    }

    /// Prepares a writer; the container comes from the extension of `url` (.mp4, .mov, .mkv, .webm). Fails at once
    /// if the directory cannot be written or the encoder is missing.
    public init(url: URL, settings: VideoSettings, audio: AudioBuffer? = nil, subtitles: [SubtitleCue] = []) throws {
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
            guard frame.width == session.width, frame.height == session.height else {
                throw MediaError.frameSizeMismatch(index: frameCount, expected: "\(session.width)x\(session.height)",
                                                   got: "\(frame.width)x\(frame.height)")
            }
            var pixels = frame.rgb8
            if session.encodedWidth != session.width || session.encodedHeight != session.height {
                pixels = Self.padded(pixels, width: session.width, height: session.height,
                                     toWidth: session.encodedWidth, toHeight: session.encodedHeight)
            }
            try session.frame.makeWritable()
            try session.converter.convert(rgb24: pixels, width: session.encodedWidth, height: session.encodedHeight,
                                          into: session.frame)
            session.frame.pts = Int64(frameCount)
            try session.encoder.encode(session.frame, path: url.path) { packet in
                try session.format.write(packet, stream: session.stream)
            }
            frameCount += 1
            if let audio = session.audio {
                try audio.encode(upTo: audioFrames(at: audio.sampleRate), into: session.format)
            }
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
            guard let session else { throw MediaError.noFrames(path: url.path) }
            try session.encoder.encode(nil, path: url.path) { packet in
                try session.format.write(packet, stream: session.stream)
            }
            if let audio = session.audio {
                try audio.finish(at: audioFrames(at: audio.sampleRate), into: session.format)
            }
            try session.format.finish()
            self.session = nil
            try output.commit()
            closed = true
            return url
        } catch {
            fail()
            throw error
        }
    }

    /// Audio frames at `sampleRate` that cover the video written so far.
    private func audioFrames(at sampleRate: Int) -> Int {
        let numerator = frameCount * settings.frameRate.denominator * sampleRate
        return (numerator + settings.frameRate.numerator / 2) / settings.frameRate.numerator
    }

    private func fail() {
        closed = true
        session = nil
        output.discard()
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
        let path = output.temporaryURL.path
        let format = try OutputFormat(path: path, muxerName: container.muxerName)
        let encoder = try CodecContext(encoderNamed: codec.encoderName)
        guard format.supports(encoder) else {
            throw MediaError.codecNotSupportedByContainer(codec: codec.rawValue, container: container.rawValue)
        }
        let pixelFormat = try PixelConverter.pixelFormat(named: codec.pixelFormatName)
        encoder.configureVideo(width: encodedWidth, height: encodedHeight, pixelFormat: pixelFormat,
                               frameRate: settings.frameRate, bt709: codec.isYUV, globalHeader: format.needsGlobalHeader)
        try encoder.open(options: codec.encoderOptions(crf: settings.crf, preset: settings.preset), path: url.path)
        let stream = try format.addStream(for: encoder, frameRate: settings.frameRate)
        let audioMuxer = try audio.map {
            try AudioStreamMuxer(audio: $0, container: container, output: format, bitRate: settings.audioBitRate)
        }
        let subtitleMuxer = try subtitles.isEmpty ? nil
            : SubtitleStreamMuxer(cues: subtitles, container: container, output: format)
        try format.setMetadata(settings.metadata)
        try format.writeHeader(options: container.muxerOptions)
        try subtitleMuxer?.writeAll(into: format)
        let frame = try Frame(width: encodedWidth, height: encodedHeight, pixelFormat: pixelFormat)
        return Session(format: format, encoder: encoder, stream: stream, frame: frame, audio: audioMuxer,
                       width: width, height: height, encodedWidth: encodedWidth, encodedHeight: encodedHeight)
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
