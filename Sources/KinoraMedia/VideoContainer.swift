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

    /// Muxer options of a live file: MP4 and MOV fragmented frame by frame behind an empty index (playable while
    /// they grow; Matroska and WebM play while they grow as they are), every packet flushed to the file at once.
    var liveMuxerOptions: [String: String] {
        switch self {
        case .mp4, .mov:
            ["movflags": "+frag_every_frame+empty_moov+default_base_moof+use_metadata_tags", "flush_packets": "1"]
        case .mkv, .webm: ["flush_packets": "1"]
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
