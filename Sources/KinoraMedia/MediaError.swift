import Foundation

/// Everything that can go wrong while reading, encoding, mixing or writing media. Each message names the call or
/// the check that failed and the file involved, so a user can act on it.
public enum MediaError: Error, Equatable, Sendable {
    /// An FFmpeg library call returned an error code.
    case ffmpeg(call: String, code: Int32, message: String, path: String?)
    /// A libsndfile call failed.
    case sndfile(call: String, message: String, path: String)
    /// A libebur128 call failed.
    case loudness(call: String, code: Int32)
    /// The directory that should receive an output file does not exist or cannot be written.
    case unwritableDirectory(path: String, reason: String)
    /// An input file does not exist or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// A video was finished before any frame was appended.
    case noFrames(path: String)
    /// A frame does not have the size of the first frame (or of the configured size).
    case frameSizeMismatch(index: Int, expected: String, got: String)
    /// A frame's pixel array does not hold width × height × 3 values.
    case invalidFrameData(expected: Int, got: Int)
    /// The codec's pixel format needs even dimensions and padding was not requested.
    case oddDimensions(width: Int, height: Int, codec: String)
    /// The codec name is not one Kinora knows.
    case unknownCodec(String)
    /// The FFmpeg build on this machine lacks an encoder or decoder.
    case codecUnavailable(name: String)
    /// The codec cannot be stored in the chosen container.
    case codecNotSupportedByContainer(codec: String, container: String)
    /// The output file extension names no container Kinora writes.
    case unsupportedContainer(path: String)
    /// The still-image or audio file extension names no format Kinora writes.
    case unsupportedFormat(path: String)
    /// A frame rate string could not be parsed or is not positive.
    case invalidFrameRate(String)
    /// A parameter is out of range; the text says which and why.
    case invalidArgument(String)
    /// A number (`what`: which, and where it came from) lies outside the `allowed` range (`ValueBounds`).
    case outOfRange(what: String, value: String, allowed: String)
    /// An input path names something other than a regular file (a FIFO, a device, a socket or a directory), which
    /// reading would block on or misread.
    case notARegularFile(path: String, kind: String)
    /// `append(frame:)` or `finish()` was called on a writer that already finished or failed.
    case writerClosed(path: String)
    /// Subtitles cannot be drawn into frames: FFmpeg's libass filter or a font is missing; the text says which.
    case subtitleRendererUnavailable(String)
}

extension MediaError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .ffmpeg(call, code, message, path):
            let file = path.map { " for '\($0)'" } ?? ""
            return "\(call) failed\(file): \(message) (FFmpeg error \(code))"
        case let .sndfile(call, message, path):
            return "\(call) failed for '\(path)': \(message)"
        case let .loudness(call, code):
            return "\(call) failed with libebur128 error \(code)"
        case let .unwritableDirectory(path, reason):
            return "cannot write into directory '\(path)': \(reason)"
        case let .unreadableFile(path, reason):
            return "cannot read '\(path)': \(reason)"
        case let .noFrames(path):
            return "no frames were given for '\(path)'; a video needs at least one frame"
        case let .frameSizeMismatch(index, expected, got):
            return "frame \(index) is \(got) but the video is \(expected); every frame must have the same size"
        case let .invalidFrameData(expected, got):
            return "frame holds \(got) values but its size needs \(expected) (width × height × 3, RGB)"
        case let .oddDimensions(width, height, codec):
            return "\(width)x\(height) has an odd side, which \(codec) cannot store; "
                + "use even dimensions or enable padding (--pad)"
        case let .unknownCodec(name):
            return "unknown codec '\(name)'; choose one of "
                + VideoCodec.allCases.map(\.rawValue).joined(separator: ", ")
        case let .codecUnavailable(name):
            return "this FFmpeg build has no '\(name)' codec; install an FFmpeg built with it"
        case let .codecNotSupportedByContainer(codec, container):
            return "\(codec) cannot be stored in a \(container) file; choose another codec or container"
        case let .unsupportedContainer(path):
            return "cannot tell the container of '\(path)'; use the extension .mp4, .mov, .mkv or .webm"
        case let .unsupportedFormat(path):
            return "cannot tell the format of '\(path)' from its extension"
        case let .invalidFrameRate(text):
            return "invalid frame rate '\(text)'; give a positive number such as 24, 29.97 or 24000/1001"
        case let .invalidArgument(text):
            return text
        case let .outOfRange(what, value, allowed):
            return "\(what) must be within \(allowed), got \(value)"
        case let .notARegularFile(path, kind):
            return "'\(path)' is \(kind), not a regular file; give the path of a file"
        case let .writerClosed(path):
            return "the writer for '\(path)' is already finished or failed"
        case let .subtitleRendererUnavailable(reason):
            return "cannot burn subtitles into the picture: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
