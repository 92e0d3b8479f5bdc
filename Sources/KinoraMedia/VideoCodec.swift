/// The video codecs Kinora encodes to: H.264 and H.265 for delivery, AV1 for the web, ProRes for editing and FFV1
/// for lossless archives.
public enum VideoCodec: String, CaseIterable, Sendable {
    /// H.264 through libx264, yuv420p, CRF rate control.
    case h264
    /// H.265/HEVC through libx265, yuv420p, CRF rate control.
    case h265
    /// AV1 through libsvtav1, yuv420p, CRF rate control.
    case av1
    /// Apple ProRes 422 HQ through prores_ks, 10-bit 4:2:2, for editing.
    case prores
    /// FFV1, lossless 8-bit RGB: decoded frames equal the input exactly.
    case ffv1

    /// Reads a codec name such as "h264", "x264", "hevc" or "prores"; throws ``MediaError/unknownCodec(_:)``.
    public init(parsing name: String) throws {
        switch name.lowercased() {
        case "h264", "x264", "avc", "libx264": self = .h264
        case "h265", "x265", "hevc", "libx265": self = .h265
        case "av1", "svtav1", "libsvtav1": self = .av1
        case "prores", "prores_ks": self = .prores
        case "ffv1", "lossless": self = .ffv1
        default: throw MediaError.unknownCodec(name)
        }
    }

    /// The libavcodec encoder name.
    var encoderName: String {
        switch self {
        case .h264: "libx264"
        case .h265: "libx265"
        case .av1: "libsvtav1"
        case .prores: "prores_ks"
        case .ffv1: "ffv1"
        }
    }

    /// The libavutil pixel format name the encoder is fed.
    var pixelFormatName: String {
        switch self {
        case .h264, .h265, .av1: "yuv420p"
        case .prores: "yuv422p10le"
        case .ffv1: "bgr0"
        }
    }

    /// Whether the pixel format subsamples chroma horizontally / vertically, so that side must be even.
    var needsEvenWidth: Bool { self != .ffv1 }
    var needsEvenHeight: Bool { self == .h264 || self == .h265 || self == .av1 }

    /// Whether the frames are stored as YUV, and so carry BT.709 matrix tags.
    var isYUV: Bool { self != .ffv1 }

    /// The CRF used when none is given: visually transparent for delivery.
    var defaultCRF: Int? {
        switch self {
        case .h264: 18
        case .h265: 22
        case .av1: 30
        case .prores, .ffv1: nil
        }
    }

    /// Encoder options for a quality and a speed preset (x264-style names, or SVT-AV1 numbers for AV1).
    func encoderOptions(crf: Int?, preset: String?) throws -> [String: String] {
        var options: [String: String] = [:]
        switch self {
        case .h264, .h265:
            let value = crf ?? defaultCRF!
            guard (0...51).contains(value) else { throw MediaError.invalidArgument("CRF for \(rawValue) must be 0...51") }
            options["crf"] = "\(value)"
            options["preset"] = preset ?? "medium"
            if self == .h265 { options["x265-params"] = "log-level=error" }
            if self == .h264, let instructions = X264InstructionSets.withoutAVX512 {
                options["x264-params"] = instructions
            }
        case .av1:
            let value = crf ?? defaultCRF!
            guard (1...63).contains(value) else { throw MediaError.invalidArgument("CRF for av1 must be 1...63") }
            options["crf"] = "\(value)"
            options["preset"] = try Self.svtPreset(preset ?? "medium")
        case .prores:
            guard crf == nil else { throw MediaError.invalidArgument("prores has fixed-quality profiles; drop --crf") }
            options["profile"] = "hq"
        case .ffv1:
            guard crf == nil else { throw MediaError.invalidArgument("ffv1 is lossless; drop --crf") }
            options["level"] = "3"
            options["slicecrc"] = "1"
        }
        return options
    }

    private static func svtPreset(_ name: String) throws -> String {
        let names = ["veryslow": 2, "slower": 4, "slow": 6, "medium": 8, "fast": 9, "faster": 10,
                     "veryfast": 11, "superfast": 12, "ultrafast": 13]
        if let number = names[name] { return "\(number)" }
        guard let number = Int(name), (0...13).contains(number) else {
            throw MediaError.invalidArgument("AV1 preset must be 0...13 or an x264-style name, got '\(name)'")
        }
        return "\(number)"
    }
}
