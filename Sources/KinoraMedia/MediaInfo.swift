import CFFmpeg
import Foundation

/// What libavformat finds in a media file: container, duration, tags and, per stream, codec, size, rates and the
/// number of packets (frames for video).
public struct MediaInfo: Sendable {
    /// One stream of the file.
    public struct Stream: Sendable {
        /// "video", "audio", "subtitle", "data" or "attachment".
        public let kind: String
        /// The libavcodec codec name, e.g. "h264", "aac", "mov_text".
        public let codecName: String
        /// Picture size (video).
        public let width: Int
        public let height: Int
        /// Average frame rate (video), if known.
        public let frameRate: FrameRate?
        /// Pixel format name (video).
        public let pixelFormat: String?
        /// The deepest component's bits (8 for rgb24 and yuv420p, 16 for rgb48be, 10 for yuv420p10le; video).
        public let bitsPerComponent: Int?
        /// Whether the pixel format carries an alpha channel (rgba, yuva420p, ya8; video). A palette (pal8) is not
        /// counted: libavutil cannot say whether its entries use their alpha.
        public let hasAlpha: Bool
        /// Colour primaries, transfer and matrix names (video), e.g. "bt709".
        public let colorPrimaries: String
        public let colorTransfer: String
        public let colorSpace: String
        /// Sample rate and channels (audio).
        public let sampleRate: Int
        public let channels: Int
        /// Packets read for this stream (for video, the frame count).
        public let packetCount: Int
        /// Duration in seconds from the stream header, if known.
        public let duration: Double?
    }

    /// The demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm".
    public let formatName: String
    /// Duration of the file in seconds.
    public let duration: Double
    /// Container tags.
    public let metadata: [String: String]
    /// The streams in file order.
    public let streams: [Stream]

    /// The first stream of a kind.
    public func first(_ kind: String) -> Stream? { streams.first { $0.kind == kind } }

    /// Opens `url`, reads every packet to count them, and describes the file.
    public init(probing url: URL) throws {
        let input = try InputFormat(path: url.path)
        var counts = [Int](repeating: 0, count: input.streamCount)
        let packet = try Packet()
        while try input.read(into: packet) { counts[Int(packet.streamIndex)] += 1 }
        let context = input.pointer.pointee
        formatName = String(cString: context.iformat.pointee.name)
        duration = context.duration > 0 ? Double(context.duration) / Double(kinora_AV_TIME_BASE()) : 0
        metadata = input.metadata
        streams = (0..<input.streamCount).map { index in
            let stream = input.stream(index).pointee
            let parameters = stream.codecpar.pointee
            let rate = stream.avg_frame_rate
            let kind = av_get_media_type_string(parameters.codec_type).map { String(cString: $0) } ?? "unknown"
            let pixelFormat = parameters.codec_type == AVMEDIA_TYPE_VIDEO
                ? av_get_pix_fmt_name(AVPixelFormat(rawValue: parameters.format)).map { String(cString: $0) } : nil
            let descriptor = parameters.codec_type == AVMEDIA_TYPE_VIDEO
                ? av_pix_fmt_desc_get(AVPixelFormat(rawValue: parameters.format))?.pointee : nil
            let components = descriptor.map { description in
                withUnsafeBytes(of: description.comp) { raw in
                    Array(raw.bindMemory(to: AVComponentDescriptor.self).prefix(Int(description.nb_components)))
                }
            } ?? []
            let alphaFlags = UInt64(AV_PIX_FMT_FLAG_ALPHA)
            let streamDuration = stream.duration != kinora_AV_NOPTS_VALUE()
                ? Double(stream.duration) * Double(stream.time_base.num) / Double(stream.time_base.den) : nil
            return Stream(
                kind: kind, codecName: String(cString: avcodec_get_name(parameters.codec_id)),
                width: Int(parameters.width), height: Int(parameters.height),
                frameRate: rate.num > 0 && rate.den > 0 ? try? FrameRate(Int(rate.num), Int(rate.den)) : nil,
                pixelFormat: pixelFormat, bitsPerComponent: components.map { Int($0.depth) }.max(),
                hasAlpha: descriptor.map { $0.flags & alphaFlags != 0 } ?? false,
                colorPrimaries: String(cString: av_color_primaries_name(parameters.color_primaries)),
                colorTransfer: String(cString: av_color_transfer_name(parameters.color_trc)),
                colorSpace: String(cString: av_color_space_name(parameters.color_space)),
                sampleRate: Int(parameters.sample_rate), channels: Int(parameters.ch_layout.nb_channels),
                packetCount: counts[index], duration: streamDuration)
        }
    }
}
