import CFFmpeg
import Foundation

/// The still-image formats, each encoded by libavcodec.
public enum StillImageFormat: String, CaseIterable, Sendable {
    /// Lossless PNG; metadata as tEXt chunks.
    case png
    /// JPEG (BT.601 full range, 4:2:0); metadata as COM segments.
    case jpeg
    /// Lossy WebP through libwebp; metadata as an XMP chunk.
    case webp

    /// The format for a path's extension.
    public init(for url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        case "webp": self = .webp
        default: throw MediaError.unsupportedFormat(path: url.path)
        }
    }
}

/// Writes single frames as PNG, JPEG or WebP with metadata tags (the workflow, seeds, prompt...).
public enum StillImageWriter {
    /// Encodes `frame` and writes it atomically to `url`. `quality` (1...100) applies to JPEG and WebP.
    public static func write(_ frame: VideoFrame, to url: URL, format: StillImageFormat? = nil, quality: Int = 90,
                             metadata: [String: String] = [:]) throws {
        let format = try format ?? StillImageFormat(for: url)
        guard (1...100).contains(quality) else { throw MediaError.invalidArgument("quality must be 1...100") }
        let output = try AtomicOutput(url)
        do {
            let encoded = try encode(frame, format: format, quality: quality)
            let tagged = ImageMetadata.insert(metadata, into: encoded, format: format, width: frame.width,
                                              height: frame.height)
            do {
                try Data(tagged).write(to: output.temporaryURL)
            } catch {
                throw MediaError.unwritableDirectory(path: url.deletingLastPathComponent().path,
                                                     reason: error.localizedDescription)
            }
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    private static func encode(_ frame: VideoFrame, format: StillImageFormat, quality: Int) throws -> [UInt8] {
        let encoderName: String
        let pixelFormatName: String
        var options: [String: String] = [:]
        switch format {
        case .png:
            (encoderName, pixelFormatName) = ("png", "rgb24")
        case .jpeg:
            (encoderName, pixelFormatName) = ("mjpeg", "yuvj420p")
        case .webp:
            (encoderName, pixelFormatName) = ("libwebp", "yuv420p")
            options["quality"] = "\(quality)"
        }
        let encoder = try CodecContext(encoderNamed: encoderName)
        let pixelFormat = try PixelConverter.pixelFormat(named: pixelFormatName)
        // mjpeg and libwebp store odd sizes in 4:2:0 themselves (the last chroma sample covers one column or row),
        // so the picture keeps its size, which the WebP extended header written later also states.
        let (width, height, pixels) = (frame.width, frame.height, frame.rgb8)
        encoder.configureVideo(width: width, height: height, pixelFormat: pixelFormat, frameRate: try FrameRate(1),
                               bt709: false, globalHeader: false)
        if format == .jpeg { encoder.setFixedQuality(2 + (100 - quality) * 29 / 100) }
        try encoder.open(options: options, path: format.rawValue)
        let picture = try Frame(width: width, height: height, pixelFormat: pixelFormat)
        try PixelConverter(accurate: true).convert(
            rgb24: pixels, width: width, height: height, into: picture, bt709: false, fullRange: format == .jpeg)
        picture.pts = 0
        var bytes: [UInt8] = []
        try encoder.encode(picture, path: format.rawValue) { bytes += $0.bytes }
        try encoder.encode(nil, path: format.rawValue) { bytes += $0.bytes }
        return bytes
    }
}
