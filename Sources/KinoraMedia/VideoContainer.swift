import Foundation

/// The file formats a video is written in, told from the output file's extension.
public enum VideoContainer: String, CaseIterable, Sendable {
    /// MPEG-4 part 14, written with faststart (index at the front) for streaming.
    case mp4
    /// QuickTime, written with faststart; the home of ProRes.
    case mov
    /// Matroska: takes every codec, with Opus audio and SRT subtitles.
    case mkv
    /// WebM (Matroska for the web): AV1 video, Opus audio, WebVTT subtitles.
    case webm

    /// The container for a path's extension; throws ``MediaError/unsupportedContainer(path:)``.
    public init(for url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "mp4", "m4v": self = .mp4
        case "mov", "qt": self = .mov
        case "mkv": self = .mkv
        case "webm": self = .webm
        default: throw MediaError.unsupportedContainer(path: url.path)
        }
    }

    /// The libavformat muxer name.
    var muxerName: String {
        switch self {
        case .mp4: "mp4"
        case .mov: "mov"
        case .mkv: "matroska"
        case .webm: "webm"
        }
    }

    /// The audio encoder used for muxed audio: AAC for MPEG-4/QuickTime, Opus for Matroska/WebM.
    var audioEncoderName: String {
        switch self {
        case .mp4, .mov: "aac"
        case .mkv, .webm: "libopus"
        }
    }

    /// The subtitle encoder for timed text.
    var subtitleEncoderName: String {
        switch self {
        case .mp4, .mov: "mov_text"
        case .mkv: "srt"
        case .webm: "webvtt"
        }
    }

    /// Muxer options: faststart and free-form metadata keys for the MPEG-4 family.
    var muxerOptions: [String: String] {
        switch self {
        case .mp4, .mov: ["movflags": "+faststart+use_metadata_tags"]
        case .mkv, .webm: [:]
        }
    }
}
