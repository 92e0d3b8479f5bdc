import CFFmpeg
import Foundation

/// Decodes the video stream of a file (or a single image such as a PNG) frame by frame into 8-bit RGB, through
/// libavformat and libavcodec.
public final class VideoReader {
    /// The file being read.
    public let url: URL
    /// Width of the decoded pictures.
    public let width: Int
    /// Height of the decoded pictures.
    public let height: Int

    private let input: InputFormat
    private let decoder: CodecContext
    private let streamIndex: Int
    private let converter = PixelConverter(accurate: true)
    private let packet: Packet
    private var pending: [VideoFrame] = []
    private var drained = false

    /// Opens `url` and its best video stream.
    public init(url: URL) throws {
        self.url = url
        input = try InputFormat(path: url.path)
        guard let index = input.bestStream(AVMEDIA_TYPE_VIDEO) else {
            throw MediaError.unreadableFile(path: url.path, reason: "it has no video stream")
        }
        streamIndex = index
        decoder = try CodecContext(decoderFor: input.stream(index), path: url.path)
        width = Int(decoder.pointer.pointee.width)
        height = Int(decoder.pointer.pointee.height)
        packet = try Packet()
    }

    /// The next frame, or nil at the end.
    public func nextFrame() throws -> VideoFrame? {
        while pending.isEmpty && !drained {
            if try input.read(into: packet) {
                guard packet.streamIndex == Int32(streamIndex) else { continue }
                try decoder.decode(packet, path: url.path, collect)
            } else {
                try decoder.decode(nil, path: url.path, collect)
                drained = true
            }
        }
        return pending.isEmpty ? nil : pending.removeFirst()
    }

    private func collect(_ frame: Frame) throws {
        let picture = try converter.rgb24(from: frame)
        pending.append(try VideoFrame(width: picture.width, height: picture.height, rgb8: picture.pixels))
    }
}
