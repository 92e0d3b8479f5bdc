import KinoraMedia

/// A piece of music placed on the timeline: an audio file (a generator later), where it starts and ends, its gain
/// and fades.
public struct MusicCue: Sendable, Hashable {
    public var id: String
    /// The audio file as written (relative paths are relative to the workflow file's folder).
    public var file: String
    public var start: Double
    /// Where the cue stops; nil: at the end of the file or of the cut, whichever comes first.
    public var end: Double?
    /// Gain in dB.
    public var gain: Double
    public var fadeIn: Double
    public var fadeOut: Double
    /// Whether the file repeats until `end`.
    public var loop: Bool
    public var location: SourceLocation

    public init(id: String, file: String, start: Double = 0, end: Double? = nil, gain: Double = 0, fadeIn: Double = 0,
                fadeOut: Double = 1, loop: Bool = false, location: SourceLocation) {
        self.id = id
        self.file = file
        self.start = start
        self.end = end
        self.gain = gain
        self.fadeIn = fadeIn
        self.fadeOut = fadeOut
        self.loop = loop
        self.location = location
    }

    static let keys = ["id", "file", "start", "end", "gain", "fade_in", "fade_out", "loop"]

    /// Reads one entry of `music`; `index` (from 0) names it `cue-N` when it has no `id`.
    init?(reading field: YAMLField, index: Int) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let id = mapping["id"].map { $0.string() } ?? "cue-\(index + 1)"
        let file = mapping.required("file")?.string()
        let start = mapping["start"].map { $0.seconds(in: ValueBounds.seconds) } ?? 0
        let end = mapping["end"].map { $0.seconds(in: ValueBounds.seconds) }
        let gain = mapping["gain"].map { $0.number(in: ValueBounds.gainDB, unit: "dB") } ?? 0
        let fadeIn = mapping["fade_in"].map { $0.seconds(in: ValueBounds.fade) } ?? 0
        let fadeOut = mapping["fade_out"].map { $0.seconds(in: ValueBounds.fade) } ?? 1
        let loop = mapping["loop"].map { $0.boolean() } ?? false
        if let start, let end = end ?? nil, end <= start, let endField = mapping["end"] {
            endField.fail("must be after start (\(YAMLField.format(start)) s), got \(YAMLField.format(end)) s")
            return nil
        }
        if let start, let end = end ?? nil, let fadeIn, let fadeOut, fadeIn + fadeOut > end - start {
            let (fades, length) = (YAMLField.format(fadeIn + fadeOut), YAMLField.format(end - start))
            (mapping["fade_out"] ?? mapping["fade_in"] ?? field).fail("fade_in + fade_out (\(fades) s) is longer "
                + "than the cue (\(length) s)")
            return nil
        }
        guard let id, let file, let start, end != .some(nil), let gain, let fadeIn, let fadeOut, let loop else {
            return nil
        }
        self.init(id: id, file: file, start: start, end: end ?? nil, gain: gain, fadeIn: fadeIn, fadeOut: fadeOut,
                  loop: loop, location: field.location)
    }
}
