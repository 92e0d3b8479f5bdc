import KinoraMedia

/// Joins the shots' frames into the cut as they stream, applying each shot's transition in: a crossfade blends the
/// outgoing shot's last N frames with the incoming shot's first N (the cut is N frames shorter), a fade through
/// black darkens the outgoing shot's last N/2 frames to black and brightens the incoming shot's first N - N/2 up
/// from it. Frame k of a transition of N frames sits at t = (k + 0.5) / N: a crossfade shows the incoming frame
/// with weight t, a fade multiplies by |1 - 2t|.
///
/// Only the frames a transition needs are held: the outgoing shot's last N, until the incoming shot's first N have
/// been blended with them. Everything else goes to `emit` as soon as it arrives.
struct ShotJoiner {
    /// A transition in frames: `cut`, `crossfade N` or `fade N`, as the encode stage's `transitions` parameter
    /// lists them.
    enum Transition: Equatable {
        case cut
        case crossfade(Int)
        case fade(Int)

        init?(parameter: some StringProtocol) {
            let parts = parameter.split(separator: " ")
            switch (parts.first, parts.count == 2 ? Int(parts[1]) : nil) {
            case ("cut", _) where parts.count == 1: self = .cut
            case ("crossfade", let frames?) where frames > 0: self = .crossfade(frames)
            case ("fade", let frames?) where frames > 0: self = .fade(frames)
            default: return nil
            }
        }

        /// Frames of the outgoing shot's end it takes.
        var outgoing: Int {
            switch self {
            case .cut: 0
            case .crossfade(let frames): frames
            case .fade(let frames): frames / 2
            }
        }
    }

    /// Why the shots' frames cannot be joined as their transitions say.
    struct ShortShot: Error, CustomStringConvertible {
        let shot: Int
        let frames: Int
        let needed: Int

        var description: String {
            "shot \(shot + 1) has \(frames) frames, and its transitions need \(needed)"
        }
    }

    private let transitions: [Transition]
    private let emit: (VideoFrame) throws -> Void
    /// The shot whose frames arrive, from 0; -1 before the first.
    private var shot = -1
    /// Frames of the current shot so far.
    private var index = 0
    /// The outgoing shot's last frames, which the current shot's crossfade blends with.
    private var blending: [VideoFrame] = []
    /// The current shot's latest frames, held back for the next shot's transition.
    private var held: [VideoFrame] = []

    /// A joiner of shots whose transitions in are `transitions` (one per shot; the first is a cut), passing each
    /// finished frame of the cut to `emit`, in order.
    init(transitions: [Transition], emit: @escaping (VideoFrame) throws -> Void) {
        self.transitions = transitions
        self.emit = emit
    }

    /// Starts the next shot: the frames held from the one before go into its transition.
    mutating func beginShot() throws {
        if shot >= 0 { try endShot() }
        shot += 1
        index = 0
        switch transitions[shot] {
        case .cut:
            for frame in held { try emit(frame) }
        case .crossfade(let frames):
            guard held.count == frames else {
                throw ShortShot(shot: max(shot - 1, 0), frames: held.count, needed: frames)
            }
            blending = held
        case .fade(let frames):
            for (k, frame) in held.enumerated() {
                try emit(Self.scaled(frame, by: 1 - 2 * Self.position(k, of: frames)))
            }
        }
        held = []
    }

    /// The current shot's next frame.
    mutating func append(_ frame: VideoFrame) throws {
        var frame = frame
        switch transitions[shot] {
        case .cut: break
        case .crossfade(let frames):
            if index < frames {
                frame = try Self.blend(blending[index], frame, weight: Self.position(index, of: frames))
                if index == frames - 1 { blending = [] }
            }
        case .fade(let frames):
            let outgoing = frames / 2
            if index < frames - outgoing {
                frame = try Self.scaled(frame, by: 2 * Self.position(outgoing + index, of: frames) - 1)
            }
        }
        index += 1
        let holding = shot + 1 < transitions.count ? transitions[shot + 1].outgoing : 0
        guard holding > 0 else { return try emit(frame) }
        held.append(frame)
        if held.count > holding { try emit(held.removeFirst()) }
    }

    /// Ends the last shot; every frame has been emitted afterwards.
    mutating func finish() throws {
        try endShot()
        for frame in held { try emit(frame) }
        held = []
    }

    /// Checks that the current shot had the frames its transitions needed.
    private func endShot() throws {
        let incoming: Int
        switch transitions[shot] {
        case .cut: incoming = 0
        case .crossfade(let frames): incoming = frames
        case .fade(let frames): incoming = frames - frames / 2
        }
        let outgoing = shot + 1 < transitions.count ? transitions[shot + 1].outgoing : 0
        if index < incoming || held.count < outgoing {
            throw ShortShot(shot: shot, frames: index, needed: max(incoming, outgoing))
        }
    }

    /// The middle of frame `k` of a transition of `frames` frames, from 0 to 1.
    private static func position(_ k: Int, of frames: Int) -> Float {
        (Float(k) + 0.5) / Float(frames)
    }

    /// `from` and `to` mixed, `to` with `weight` (0 to 1).
    static func blend(_ from: VideoFrame, _ to: VideoFrame, weight: Float) throws -> VideoFrame {
        let a = from.rgb8, b = to.rgb8
        guard a.count == b.count else {
            throw MediaError.frameSizeMismatch(index: 0, expected: "\(from.width)x\(from.height)",
                                               got: "\(to.width)x\(to.height)")
        }
        let pixels = (0..<a.count).map { i in
            UInt8((Float(a[i]) * (1 - weight) + Float(b[i]) * weight).rounded())
        }
        return try VideoFrame(width: to.width, height: to.height, rgb8: pixels)
    }

    /// `frame` with every value multiplied by `factor` (0 to 1).
    static func scaled(_ frame: VideoFrame, by factor: Float) throws -> VideoFrame {
        let factor = min(max(factor, 0), 1)
        return try VideoFrame(width: frame.width, height: frame.height,
                              rgb8: frame.rgb8.map { UInt8((Float($0) * factor).rounded()) })
    }
}
