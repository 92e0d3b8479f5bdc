import CFFmpeg
import Foundation

/// Draws subtitle cues into video frames (burned-in subtitles), frame by frame: each frame goes through a
/// libavfilter graph whose `ass` filter (libass, fonts found through fontconfig) renders the cues shown at the frame's
/// time, so no clip is held in memory. The cues' texts are shown literally: ASS override blocks (`{\an8}`), escapes
/// (`\N`) and filter syntax in them are never interpreted.
///
/// ```swift
/// let burner = try SubtitleBurner(cues: cues, width: 1280, height: 720, frameRate: FrameRate(24))
/// for frame in frames { try writer.append(frame: burner.burn(frame)) }
/// ```
public final class SubtitleBurner {
    /// How the text looks: a font family (found through fontconfig, which falls back to a similar font), its size and
    /// outline as fractions of the picture's height, white text with a black outline, bottom centre.
    public struct Style: Sendable, Equatable {
        /// The font family fontconfig is asked for.
        public var font: String
        /// The text's size as a fraction of the picture's height (1/18: 40 pixels at 720p).
        public var size: Double
        /// The smallest text size in pixels, so subtitles on a small picture stay legible.
        public var minimumPixels: Int
        /// The outline's width as a fraction of the text's size.
        public var outline: Double

        public init(font: String = "DejaVu Sans", size: Double = 1.0 / 18, minimumPixels: Int = 12,
                    outline: Double = 1.0 / 16) {
            self.font = font
            self.size = size
            self.minimumPixels = minimumPixels
            self.outline = outline
        }
    }

    /// Width and height of the frames.
    public let width: Int
    public let height: Int
    /// Frames burned so far; the next frame is shown at `frameCount / frameRate` seconds.
    public private(set) var frameCount = 0

    private let graph: FilterGraph
    private let frameRate: FrameRate

    /// A burner for frames of `width` × `height` at `frameRate`, showing `cues`. Throws
    /// `MediaError.subtitleRendererUnavailable` when this FFmpeg has no libass filter or fontconfig finds no font that
    /// draws text.
    public convenience init(cues: [SubtitleCue], width: Int, height: Int, frameRate: FrameRate,
                            style: Style = Style()) throws {
        try Self.checkFonts.get()
        try self.init(unchecked: cues, width: width, height: height, frameRate: frameRate, style: style)
    }

    private init(unchecked cues: [SubtitleCue], width: Int, height: Int, frameRate: FrameRate, style: Style) throws {
        self.width = width
        self.height = height
        self.frameRate = frameRate
        let script = Self.script(cues: cues, width: width, height: height, style: style)
        graph = try FilterGraph(script: script, width: width, height: height, frameRate: frameRate)
    }

    /// `frame` with the cues shown at its time drawn on it. Frames must come in order and have the burner's size.
    public func burn(_ frame: VideoFrame) throws -> VideoFrame {
        guard frame.width == width, frame.height == height else {
            throw MediaError.frameSizeMismatch(index: frameCount, expected: "\(width)x\(height)",
                                               got: "\(frame.width)x\(frame.height)")
        }
        let pixels = try graph.filter(frame.rgb8, pts: Int64(frameCount))
        frameCount += 1
        return try VideoFrame(width: width, height: height, rgb8: pixels)
    }

    // MARK: - The ASS script

    /// The ASS script that shows `cues` on a `width` × `height` picture in `style` (its coordinates are the
    /// picture's pixels).
    static func script(cues: [SubtitleCue], width: Int, height: Int, style: Style) -> String {
        let size = max(style.minimumPixels, Int((Double(height) * style.size).rounded()))
        let outline = max(1, Int((Double(size) * style.outline).rounded()))
        let font = style.font.filter { $0 != "," && !$0.isNewline }
        var lines = [
            "[Script Info]", "ScriptType: v4.00+", "PlayResX: \(width)", "PlayResY: \(height)", "WrapStyle: 0",
            "ScaledBorderAndShadow: yes", "",
            "[V4+ Styles]",
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
                + "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
                + "Alignment, MarginL, MarginR, MarginV, Encoding",
            "Style: Default,\(font),\(size),&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,"
                + "\(outline),0,2,\(max(1, width / 20)),\(max(1, width / 20)),\(max(1, height / 20)),1",
            "",
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        ]
        for cue in cues {
            lines.append("Dialogue: 0,\(time(cue.start)),\(time(cue.end)),Default,,0,0,0,,\(escaped(cue.text))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `seconds` as ASS writes times, `H:MM:SS.cc` (centiseconds, rounded).
    static func time(_ seconds: Double) -> String {
        let centiseconds = max(0, Int((seconds * 100).rounded()))
        let (hours, rest) = centiseconds.quotientAndRemainder(dividingBy: 360_000)
        let (minutes, rest2) = rest.quotientAndRemainder(dividingBy: 6000)
        let (secs, cents) = rest2.quotientAndRemainder(dividingBy: 100)
        return String(format: "%d:%02d:%02d.%02d", hours, minutes, secs, cents)
    }

    /// `text` as an ASS event's text that libass shows literally: braces (which open override blocks) escaped as
    /// `\{` and `\}`, every backslash followed by a word joiner (U+2060, invisible) so `\N`, `\n` and `\h` stay
    /// text, and line breaks as `\N`.
    static func escaped(_ text: String) -> String {
        var result = ""
        var previousWasReturn = false
        for character in text.unicodeScalars {
            defer { previousWasReturn = character == "\r" }
            switch character {
            case "{": result += "\\{"
            case "}": result += "\\}"
            case "\\": result += "\\\u{2060}"
            case "\r": result += "\\N"
            case "\n": if !previousWasReturn { result += "\\N" }
            default:
                // Other control characters would end or corrupt the line in the script; they show nothing anyway.
                if character.value < 0x20, character != "\t" { continue }
                result.unicodeScalars.append(character)
            }
        }
        return result
    }

    // MARK: - Checks

    /// Whether this FFmpeg has the libass filter and fontconfig finds a font it draws text with: a probe cue is
    /// burned onto a small black picture once per process, and must light some pixels.
    private static let checkFonts: Result<Void, MediaError> = {
        guard avfilter_get_by_name("ass") != nil else {
            return .failure(.subtitleRendererUnavailable(
                "this FFmpeg's libavfilter has no 'ass' filter (it was built without libass); install an FFmpeg "
                + "built with libass (Debian: libavfilter8) to burn subtitles in, or use subtitles: soft"))
        }
        do {
            let probe = try SubtitleBurner(unchecked: [SubtitleCue(start: 0, end: 1, text: "Kinora")], width: 160,
                                           height: 64, frameRate: FrameRate(1), style: Style(size: 0.5))
            let black = try VideoFrame(width: 160, height: 64, rgb8: [UInt8](repeating: 0, count: 160 * 64 * 3))
            guard try probe.burn(black).rgb8.contains(where: { $0 > 128 }) else {
                return .failure(.subtitleRendererUnavailable(
                    "libass drew no text: fontconfig finds no font (install fonts-dejavu-core, or any font "
                    + "fc-list shows)"))
            }
            return .success(())
        } catch {
            return .failure(.subtitleRendererUnavailable("the subtitle filter failed a test picture: \(error)"))
        }
    }()
}

/// Owns a libavfilter graph `buffer → ass → buffersink` on 8-bit RGB frames. The script goes into a temporary file
/// that the `ass` filter reads while it is set up (its path is set as the filter's option, never parsed as filter
/// syntax) and that is removed at once.
private final class FilterGraph {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>
    private let input: Frame
    private let output: Frame
    private let width: Int
    private let height: Int

    init(script: String, width: Int, height: Int, frameRate: FrameRate) throws {
        FFmpegLog.quietOnce()
        self.width = width
        self.height = height
        guard let graph = avfilter_graph_alloc() else {
            throw FFmpegError.error("avfilter_graph_alloc", FFmpegError.outOfMemory)
        }
        self.graph = graph
        // Until the graph is set up, a failure frees it here: an unfinished object's deinit does not run.
        var ready = false
        defer {
            if !ready {
                var owned: UnsafeMutablePointer<AVFilterGraph>? = graph
                avfilter_graph_free(&owned)
            }
        }
        func filter(_ name: String) throws -> UnsafePointer<AVFilter> {
            guard let filter = avfilter_get_by_name(name) else {
                throw MediaError.subtitleRendererUnavailable("this FFmpeg's libavfilter has no '\(name)' filter")
            }
            return filter
        }
        // Only numbers go into the buffer source's arguments.
        let arguments = "video_size=\(width)x\(height):pix_fmt=\(AV_PIX_FMT_RGB24.rawValue):"
            + "time_base=\(frameRate.denominator)/\(frameRate.numerator):pixel_aspect=1/1"
        var source: UnsafeMutablePointer<AVFilterContext>?
        try FFmpegError.check(avfilter_graph_create_filter(&source, try filter("buffer"), "in", arguments, nil,
                                                           graph), "avfilter_graph_create_filter(buffer)")
        var sink: UnsafeMutablePointer<AVFilterContext>?
        try FFmpegError.check(avfilter_graph_create_filter(&sink, try filter("buffersink"), "out", nil, nil, graph),
                              "avfilter_graph_create_filter(buffersink)")
        guard let source, let sink, let burn = avfilter_graph_alloc_filter(graph, try filter("ass"), "burn") else {
            throw FFmpegError.error("avfilter_graph_alloc_filter", FFmpegError.outOfMemory)
        }
        self.source = source
        self.sink = sink

        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("kinora-subtitles-\(UUID().uuidString).ass")
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            try Data(script.utf8).write(to: file)
        } catch {
            throw MediaError.unwritableDirectory(path: file.deletingLastPathComponent().path, reason: "\(error)")
        }
        try FFmpegError.check(av_opt_set(burn, "filename", file.path, AV_OPT_SEARCH_CHILDREN),
                              "av_opt_set(ass filename)")
        try FFmpegError.check(avfilter_init_str(burn, nil), "avfilter_init_str(ass)", path: file.path)
        try FFmpegError.check(avfilter_link(source, 0, burn, 0), "avfilter_link(buffer, ass)")
        try FFmpegError.check(avfilter_link(burn, 0, sink, 0), "avfilter_link(ass, buffersink)")
        try FFmpegError.check(avfilter_graph_config(graph, nil), "avfilter_graph_config")
        input = try Frame(width: width, height: height, pixelFormat: AV_PIX_FMT_RGB24)
        output = try Frame()
        ready = true
    }

    /// Sends one RGB picture at `pts` (in frames) through the graph and returns the drawn picture.
    func filter(_ pixels: [UInt8], pts: Int64) throws -> [UInt8] {
        try input.makeWritable()
        let rowBytes = width * 3
        pixels.withUnsafeBufferPointer { input.copyRows(from: $0, rowBytes: rowBytes, height: height) }
        input.pts = pts
        try FFmpegError.check(av_buffersrc_add_frame_flags(source, input.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)),
                              "av_buffersrc_add_frame_flags")
        try FFmpegError.check(av_buffersink_get_frame(sink, output.pointer), "av_buffersink_get_frame")
        defer { av_frame_unref(output.pointer) }
        let frame = output.pointer.pointee
        guard frame.format == AV_PIX_FMT_RGB24.rawValue, Int(frame.width) == width, Int(frame.height) == height else {
            throw MediaError.subtitleRendererUnavailable("the subtitle filter returned a \(frame.width)x"
                                                         + "\(frame.height) picture in pixel format \(frame.format)")
        }
        var result = [UInt8](repeating: 0, count: rowBytes * height)
        result.withUnsafeMutableBufferPointer { output.copyRows(to: $0, rowBytes: rowBytes, height: height) }
        return result
    }

    deinit {
        avfilter_graph_free(&graph)
    }
}
