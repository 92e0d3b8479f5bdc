import ArgumentParser
import Foundation
import KinoraMedia

/// `kinora encode`: PNG frames (a printf-style pattern or a directory) plus optional audio into a video file.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode PNG frames, with optional audio, into an MP4, MOV, MKV or WebM video.",
        discussion: """
            The audio files are mixed (each starting at 0), normalised to the loudness target and muxed as AAC \
            (MP4/MOV) or Opus (MKV/WebM), trimmed or padded to the video's duration.
            Example: kinora encode --frames out/%04d.png --fps 24000/1001 --audio voice.wav -o film.mp4
            """)

    @Option(help: "A printf-style pattern such as frames/%04d.png, or a directory of .png files (sorted by name).")
    var frames: String

    @Option(help: "Frames per second: 24, 29.97 or a fraction such as 24000/1001.")
    var fps: String

    @Option(help: "An audio file to mix into the soundtrack (WAV, FLAC, OGG, ...); repeat for more.")
    var audio: [String] = []

    @Option(help: "Video codec: h264, h265, av1, prores or ffv1 (lossless).")
    var codec: String = "h264"

    @Option(help: "Constant rate factor for h264/h265/av1 (lower is better quality).")
    var crf: Int?

    @Option(help: "Encoder speed preset: ultrafast ... medium ... veryslow (AV1 also 0...13).")
    var preset: String?

    @Flag(help: "Pad an odd width or height by one edge pixel instead of failing.")
    var pad = false

    @Option(help: "Title tag.")
    var title: String?

    @Option(help: "A metadata tag as key=value (e.g. seed=42); repeat for more.")
    var metadata: [String] = []

    @Option(help: "Integrated loudness target of the soundtrack in LUFS.")
    var loudness: Double = -14

    @Flag(help: "Keep the audio level as it is instead of normalising it.")
    var noNormalize = false

    @Option(name: .customLong("raw-rgb"), help: .hidden)
    var rawRGB: String?

    @Option(name: .shortAndLong, help: "The output video (.mp4, .mov, .mkv or .webm).")
    var output: String

    func run() throws {
        var tags: [String: String] = [:]
        for item in metadata {
            guard let equals = item.firstIndex(of: "=") else {
                throw ValidationError("--metadata needs key=value, got '\(item)'")
            }
            tags[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        if let title { tags["title"] = title }
        let rawSize = try rawRGB.map(Self.rawFrameSize)
        let frameRate = try FrameRate(parsing: fps)
        try ValueBounds.check(frameRate.framesPerSecond, "--fps", in: ValueBounds.framesPerSecond,
                              unit: "frames per second")
        let settings = VideoSettings(codec: try VideoCodec(parsing: codec), frameRate: frameRate,
                                     crf: crf, preset: preset, padOddDimensions: pad, metadata: tags)
        let soundtrack = try mixedAudio()
        let writer = try VideoWriter(url: URL(fileURLWithPath: output), settings: settings, audio: soundtrack)
        let started = Date()
        if let rawSize {
            try appendRawFrames(width: rawSize.width, height: rawSize.height, to: writer)
        } else {
            for path in try framePaths() {
                guard let frame = try VideoReader(url: URL(fileURLWithPath: path)).nextFrame() else {
                    throw ValidationError("'\(path)' holds no picture")
                }
                try writer.append(frame: frame)
            }
        }
        let url = try writer.finish()
        let seconds = Date().timeIntervalSince(started)
        let rate = Double(writer.frameCount) / max(seconds, 1e-9)
        print("wrote \(url.path): \(writer.frameCount) frames in \(String(format: "%.2f", seconds)) s "
              + "(\(String(format: "%.2f", rate)) fps)")
    }

    private func mixedAudio() throws -> AudioBuffer? {
        guard !audio.isEmpty else { return nil }
        let tracks = try audio.map { path in
            MixTrack(name: path, audio: try AudioFile.read(URL(fileURLWithPath: path)), role: .effect)
        }
        let settings = MixSettings(ducking: nil, loudnessTarget: noNormalize ? nil : loudness)
        return try Mixer(settings: settings).mix(tracks).mix
    }

    /// The frame files: for a pattern, consecutive numbers from the first that exists (0...4, like FFmpeg's
    /// image2); for a directory, its .png files in natural order.
    private func framePaths() throws -> [String] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: frames, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: frames)
                .filter { $0.lowercased().hasSuffix(".png") }
                .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            guard !names.isEmpty else { throw ValidationError("no .png files in '\(frames)'") }
            return names.map { URL(fileURLWithPath: frames).appendingPathComponent($0).path }
        }
        let pattern = try FramePattern(frames)
        guard let first = (0...4).first(where: { FileManager.default.fileExists(atPath: pattern.path($0)) }) else {
            throw ValidationError("no file matches '\(frames)' (looked for \(pattern.path(0)) ... \(pattern.path(4)))")
        }
        var paths: [String] = []
        var index = first
        while FileManager.default.fileExists(atPath: pattern.path(index)) {
            paths.append(pattern.path(index))
            index += 1
        }
        return paths
    }

    /// The frame size `--raw-rgb` gives ("WxH"), each side within `ValueBounds.frameSide`: checked before anything
    /// is written or a frame buffer allocated.
    static func rawFrameSize(_ size: String) throws -> (width: Int, height: Int) {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2 else { throw ValidationError("--raw-rgb needs WxH") }
        try ValueBounds.check(parts[0], "--raw-rgb width", in: ValueBounds.frameSide, unit: "pixels")
        try ValueBounds.check(parts[1], "--raw-rgb height", in: ValueBounds.frameSide, unit: "pixels")
        return (parts[0], parts[1])
    }

    /// Reads packed RGB24 frames of `width` × `height` from the file named by --frames ("-" for standard input),
    /// one whole frame per read into a buffer that is reused for every frame.
    private func appendRawFrames(width: Int, height: Int, to writer: VideoWriter) throws {
        let handle = frames == "-"
            ? FileHandle.standardInput : try FileHandle(forReadingFrom: URL(fileURLWithPath: frames))
        var buffer = [UInt8](repeating: 0, count: width * height * 3)
        while true {
            let count = try buffer.withUnsafeMutableBytes {
                try Self.readFully(handle.fileDescriptor, into: $0, path: frames)
            }
            if count == 0 { break }
            guard count == buffer.count else {
                throw ValidationError("'\(frames)' ends with a partial frame (\(count) of \(buffer.count) bytes)")
            }
            try writer.append(frame: VideoFrame(width: width, height: height, rgb8: buffer))
        }
    }

    /// Fills `target` from `descriptor` unless the input ends first; returns the bytes read.
    private static func readFully(_ descriptor: Int32, into target: UnsafeMutableRawBufferPointer, path: String) throws
        -> Int {
        var filled = 0
        while filled < target.count {
            let count = read(descriptor, target.baseAddress! + filled, target.count - filled)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ValidationError("read failed for '\(path)': \(String(cString: strerror(errno)))")
            }
            filled += count
        }
        return filled
    }
}

/// A printf-style frame pattern with one integer field: `%d` or `%0Nd`.
struct FramePattern {
    private let prefix: String
    private let suffix: String
    private let width: Int

    init(_ pattern: String) throws {
        let regex = try NSRegularExpression(pattern: "%(0?)([0-9]*)d")
        let range = NSRange(pattern.startIndex..., in: pattern)
        let matches = regex.matches(in: pattern, range: range)
        guard matches.count == 1, let match = matches.first, let whole = Range(match.range, in: pattern) else {
            throw ValidationError("'\(pattern)' is neither a directory nor a pattern with one %d or %0Nd field")
        }
        prefix = String(pattern[..<whole.lowerBound])
        suffix = String(pattern[whole.upperBound...])
        let zeroPadded = Range(match.range(at: 1), in: pattern).map { !pattern[$0].isEmpty } ?? false
        let digits = Range(match.range(at: 2), in: pattern).flatMap { Int(pattern[$0]) } ?? 0
        width = zeroPadded ? digits : 0
        guard !prefix.contains("%"), !suffix.contains("%") else {
            throw ValidationError("'\(pattern)' may hold only one % field")
        }
    }

    func path(_ index: Int) -> String {
        let number = String(index)
        return prefix + String(repeating: "0", count: max(0, width - number.count)) + number + suffix
    }
}
