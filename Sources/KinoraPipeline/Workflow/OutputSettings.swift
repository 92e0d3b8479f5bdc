import KinoraMedia

/// The final file: where it goes, the cut's picture size and frame rate, the upscale and interpolation applied to the
/// whole cut before it is encoded, the video codec and quality, the loudness the mixed audio is normalised to, and
/// whether the voice lines become subtitles.
public struct OutputSettings: Sendable, Hashable {
    /// The video codecs the output can use (KinoraMedia's `VideoCodec` names).
    public enum Codec: String, Sendable, Hashable, CaseIterable {
        case h264, h265, av1, prores, ffv1

        /// The CRF values the codec accepts; nil for codecs with fixed-quality profiles.
        public var crfRange: ClosedRange<Int>? {
            switch self {
            case .h264, .h265: return 0...51
            case .av1: return 1...63
            case .prores, .ffv1: return nil
            }
        }

        static let aliases = ["x264": "h264", "avc": "h264", "hevc": "h265", "x265": "h265", "svtav1": "av1",
                              "lossless": "ffv1"]
    }

    /// Whether the voice lines' texts become subtitles.
    public enum Subtitles: String, Sendable, Hashable, CaseIterable {
        /// No subtitles.
        case off
        /// A subtitle track in the file (mov_text in MP4/MOV, SubRip in MKV, WebVTT in WebM) that players can
        /// turn on and off.
        case soft
        /// Drawn into the frames (libass), white with a black outline at the bottom centre.
        case burned
    }

    /// The output path as written (relative paths are relative to the workflow file's folder).
    public var file: String
    /// The cut's picture size as the shots are joined; the file's is `size` times `upscale.scale`.
    public var size: ImageSize
    /// The cut's frame rate as the shots are joined; the file's is `interpolate.fps` when given.
    public var fps: FrameRateSpec
    /// The whole cut upscaled frame by frame after the shots are joined (after each shot's own `upscale`).
    public var upscale: UpscaleSettings?
    /// The whole cut raised from `fps` to `interpolate.fps` after the shots are joined (and after `upscale`).
    public var interpolate: InterpolationSettings?
    public var codec: Codec
    /// Constant rate factor; nil for the codec's default.
    public var crf: Int?
    /// Integrated loudness target of the mix in LUFS (−14 for streaming, −23 for EBU R128 broadcast).
    public var loudness: Double
    /// True-peak ceiling in dBTP.
    public var truePeak: Double
    public var sampleRate: Int
    public var subtitles: Subtitles
    public var location: SourceLocation

    public init(file: String, size: ImageSize, fps: FrameRateSpec = FrameRateSpec(numerator: 24, denominator: 1),
                codec: Codec = .h264, crf: Int? = nil, loudness: Double = -14, truePeak: Double = -1,
                sampleRate: Int = 48_000, subtitles: Subtitles = .off, upscale: UpscaleSettings? = nil,
                interpolate: InterpolationSettings? = nil, location: SourceLocation) {
        self.file = file
        self.size = size
        self.fps = fps
        self.upscale = upscale
        self.interpolate = interpolate
        self.codec = codec
        self.crf = crf
        self.loudness = loudness
        self.truePeak = truePeak
        self.sampleRate = sampleRate
        self.subtitles = subtitles
        self.location = location
    }

    static let keys = ["file", "size", "fps", "codec", "crf", "loudness", "true_peak", "sample_rate", "subtitles",
                       "upscale", "interpolate"]

    /// The file's frame rate: the cut's, or the interpolated one when `interpolate` is given.
    public var fileFPS: FrameRateSpec { interpolate?.fps ?? fps }

    /// Reads the `output` mapping; `defaultFile` is used when `file` is absent.
    init?(reading field: YAMLField, defaultFile: String) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let size = mapping.required("size")?.size()
        let fps = mapping["fps"].map { FrameRateSpec(reading: $0) } ?? FrameRateSpec(numerator: 24, denominator: 1)
        let codec = mapping["codec"].map { $0.choice(Codec.allCases.map(\.rawValue), aliases: Codec.aliases) }
            ?? Codec.h264.rawValue
        var crf: Int?
        if let crfField = mapping["crf"], let codec = codec.flatMap(Codec.init(rawValue:)) {
            if let range = codec.crfRange {
                crf = crfField.integer(in: range)
            } else {
                crfField.fail("\(codec.rawValue) has fixed-quality profiles and takes no crf")
            }
        }
        let loudness = mapping["loudness"].map { $0.number(in: ValueBounds.loudness, unit: "LUFS") } ?? -14
        let truePeak = mapping["true_peak"].map { $0.number(in: ValueBounds.truePeak, unit: "dBTP") } ?? -1
        let sampleRate = mapping["sample_rate"].map { $0.integer(in: ValueBounds.sampleRate) } ?? 48_000
        let file = mapping["file"].map { $0.string() } ?? defaultFile
        let subtitles = mapping["subtitles"].map { $0.choice(Subtitles.allCases.map(\.rawValue)) } ?? "off"
        let upscale = mapping["upscale"].map(UpscaleSettings.init(reading:))
        let interpolate = mapping["interpolate"].map(InterpolationSettings.init(reading:))
        guard let size, let fps, let codec = codec.flatMap(Codec.init(rawValue:)), let loudness, let truePeak,
              let sampleRate, let file, let subtitles = subtitles.flatMap(Subtitles.init(rawValue:)),
              upscale != .some(nil), interpolate != .some(nil) else { return nil }
        self.init(file: file, size: size, fps: fps, codec: codec, crf: crf, loudness: loudness, truePeak: truePeak,
                  sampleRate: sampleRate, subtitles: subtitles, upscale: upscale ?? nil,
                  interpolate: interpolate ?? nil, location: field.location)
    }
}
