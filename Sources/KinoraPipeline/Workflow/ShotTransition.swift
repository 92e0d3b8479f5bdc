/// How a shot begins after the one before it: a cut, a crossfade (the two shots overlap and blend, as an editor's
/// dissolve, so the cut is shorter by the overlap), or a fade through black (the outgoing shot's last half of the
/// time fades to black, the incoming shot's first half fades up; nothing overlaps).
public enum ShotTransition: Sendable, Hashable {
    case cut
    case crossfade(seconds: Double)
    case fade(seconds: Double)

    /// The kinds as written (`transition: cut`, `{crossfade: 0.5}`, `{fade: 0.3}`).
    static let kinds = ["cut", "crossfade", "fade"]
    static let durations = 0.0...600.0

    /// The transition's length in seconds; 0 for a cut.
    public var seconds: Double {
        switch self {
        case .cut: 0
        case .crossfade(let seconds), .fade(let seconds): seconds
        }
    }

    /// Seconds the incoming shot overlaps the outgoing one, by which the cut gets shorter.
    public var overlap: Double {
        if case .crossfade(let seconds) = self { seconds } else { 0 }
    }

    /// The transition's length in frames at `fps`: at least one for a crossfade or fade, 0 for a cut.
    public func frames(at fps: Double) -> Int {
        self == .cut ? 0 : max(1, Int((seconds * fps).rounded()))
    }

    /// Frames of the outgoing shot's end the transition takes: all of a crossfade's, the first half of a fade's.
    public func outgoingFrames(at fps: Double) -> Int {
        switch self {
        case .cut: 0
        case .crossfade: frames(at: fps)
        case .fade: frames(at: fps) / 2
        }
    }

    /// Frames of the incoming shot's start the transition takes: all of a crossfade's, the rest of a fade's.
    public func incomingFrames(at fps: Double) -> Int {
        switch self {
        case .cut: 0
        case .crossfade: frames(at: fps)
        case .fade: frames(at: fps) - frames(at: fps) / 2
        }
    }

    /// The transition as the encode stage's parameter and the joiner read it: `cut`, `crossfade N` or `fade N`, N
    /// in frames.
    func parameter(at fps: Double) -> String {
        switch self {
        case .cut: "cut"
        case .crossfade: "crossfade \(frames(at: fps))"
        case .fade: "fade \(frames(at: fps))"
        }
    }

    /// Reads `transition`: `cut`, or a mapping of one kind to its length in seconds (`{crossfade: 0.5}`).
    init?(reading field: YAMLField) {
        if case .scalar = field.node {
            guard let kind = field.choice(Self.kinds) else { return nil }
            guard kind == "cut" else {
                field.fail("\(kind) needs its length: write {\(kind): SECONDS}, such as {\(kind): 0.5}")
                return nil
            }
            self = .cut
            return
        }
        guard let mapping = field.mapping(Array(Self.kinds.dropFirst())) else { return nil }
        guard mapping.entries.count == 1, let (kind, value) = mapping.entries.first else {
            // An unknown key alone was reported by `mapping`.
            if case .mapping(let written) = field.node, written.count == 1, mapping.entries.isEmpty { return nil }
            field.fail("give exactly one of crossfade and fade, with its length in seconds ({crossfade: 0.5})")
            return nil
        }
        guard let seconds = value.seconds(in: Self.durations) else { return nil }
        guard seconds > 0 else {
            value.fail("must be more than 0 s; for no transition write transition: cut")
            return nil
        }
        self = kind == "crossfade" ? .crossfade(seconds: seconds) : .fade(seconds: seconds)
    }
}
