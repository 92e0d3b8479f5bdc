/// How a video is encoded: codec, quality, frame rate, metadata and what to do with odd frame sizes.
public struct VideoSettings: Sendable {
    /// The video codec.
    public var codec: VideoCodec
    /// Frames per second, exact.
    public var frameRate: FrameRate
    /// Constant rate factor for H.264/H.265/AV1 (lower is better); nil uses the codec's default.
    public var crf: Int?
    /// Speed preset ("medium", "slow", ...; 0...13 for AV1); nil uses "medium".
    public var preset: String?
    /// Pad odd widths/heights by one edge pixel (right/bottom) for codecs that need even sizes, instead of failing.
    public var padOddDimensions: Bool
    /// Container tags: title, comment, the workflow, seeds, ...
    public var metadata: [String: String]
    /// Bit rate of the muxed audio in bits per second.
    public var audioBitRate: Int
    /// A live file: written straight under its name as frames come, fragmented (MP4 and MOV write a fragment per
    /// frame after an empty index) so a player can open it while it grows. It replaces a file of that name when
    /// writing starts and is removed when writing fails or stops unfinished. Off: the file appears only complete.
    public var live = false

    public init(codec: VideoCodec = .h264, frameRate: FrameRate, crf: Int? = nil, preset: String? = nil,
                padOddDimensions: Bool = false, metadata: [String: String] = [:], audioBitRate: Int = 192_000) {
        self.codec = codec
        self.frameRate = frameRate
        self.crf = crf
        self.preset = preset
        self.padOddDimensions = padOddDimensions
        self.metadata = metadata
        self.audioBitRate = audioBitRate
    }
}
