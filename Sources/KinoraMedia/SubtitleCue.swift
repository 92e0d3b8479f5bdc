/// A line of timed text for the subtitle track of a video.
public struct SubtitleCue: Sendable, Equatable {
    /// When the text appears, in seconds from the start.
    public var start: Double
    /// When it disappears, in seconds.
    public var end: Double
    /// The text; line breaks are kept.
    public var text: String

    public init(start: Double, end: Double, text: String) throws {
        guard start >= 0, end > start else {
            throw MediaError.invalidArgument("subtitle '\(text)' must end after it starts (\(start)–\(end) s)")
        }
        self.start = start
        self.end = end
        self.text = text
    }
}
