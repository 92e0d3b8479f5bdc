/// The slow pan and zoom a still is shown with (a "Ken Burns" move): the crop's scale and its centre's offset at
/// the start and the end of the shot, eased between them.
public struct CameraMove: Sendable, Hashable, Codable {
    /// How the move accelerates.
    public enum Ease: String, Sendable, Hashable, Codable, CaseIterable {
        case linear
        /// Smoothstep: starts and ends at rest.
        case smooth
    }

    /// Magnification at the start and the end; 1 shows the whole picture, 1.2 a crop of 1/1.2 of each side.
    public var zoom: ClosedInterval
    /// Horizontal offset of the crop's centre as a fraction of the picture's width (positive: right).
    public var pan: ClosedInterval
    /// Vertical offset of the crop's centre as a fraction of the picture's height (positive: down).
    public var tilt: ClosedInterval
    public var ease: Ease

    /// A start and an end value.
    public struct ClosedInterval: Sendable, Hashable, Codable {
        public var start: Double
        public var end: Double

        public init(_ start: Double, _ end: Double) {
            self.start = start
            self.end = end
        }
    }

    public init(zoom: ClosedInterval = ClosedInterval(1.0, 1.08), pan: ClosedInterval = ClosedInterval(0, 0),
                tilt: ClosedInterval = ClosedInterval(0, 0), ease: Ease = .smooth) {
        self.zoom = zoom
        self.pan = pan
        self.tilt = tilt
        self.ease = ease
    }

    /// No movement: the whole picture for the whole shot.
    public static let none = CameraMove(zoom: ClosedInterval(1, 1), ease: .linear)

    static let keys = ["zoom", "pan", "tilt", "ease"]

    /// Reads `camera`: `none`, or a mapping of `[start, end]` pairs. Zoom must be at least 1 (never shows past the
    /// picture's edge) and each offset must keep the crop inside the picture at that moment's zoom.
    init?(reading field: YAMLField) {
        if case .scalar = field.node {
            guard field.choice(["none"], aliases: ["static": "none", "off": "none"]) != nil else { return nil }
            self = .none
            return
        }
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let defaults = CameraMove()
        func interval(_ key: String, _ range: ClosedRange<Double>, default value: ClosedInterval) -> ClosedInterval? {
            guard let pair = mapping[key] else { return value }
            guard let items = pair.sequence() else { return nil }
            guard items.count == 2 else {
                pair.fail("expected [start, end], got \(items.count) values")
                return nil
            }
            guard let start = items[0].number(in: range), let end = items[1].number(in: range) else { return nil }
            return ClosedInterval(start, end)
        }
        let zoom = interval("zoom", 1...8, default: defaults.zoom)
        let pan = interval("pan", -0.5...0.5, default: defaults.pan)
        let tilt = interval("tilt", -0.5...0.5, default: defaults.tilt)
        let ease = mapping["ease"].map { $0.choice(Ease.allCases.map(\.rawValue)) } ?? defaults.ease.rawValue
        guard let zoom, let pan, let tilt, let ease = ease.flatMap(Ease.init(rawValue:)) else { return nil }
        var valid = true
        for (key, offsets) in [("pan", pan), ("tilt", tilt)] {
            for (moment, offset, scale) in [("start", offsets.start, zoom.start), ("end", offsets.end, zoom.end)] {
                let limit = (1 - 1 / scale) / 2
                if abs(offset) > limit + 1e-9 {
                    let allowed = YAMLField.format((limit * 1000).rounded(.down) / 1000)
                    (mapping[key] ?? field).fail("\(key) \(YAMLField.format(offset)) at the \(moment) leaves the "
                        + "picture at zoom \(YAMLField.format(scale)); at that zoom it must be within ±\(allowed)")
                    valid = false
                }
            }
        }
        guard valid else { return nil }
        self.init(zoom: zoom, pan: pan, tilt: tilt, ease: ease)
    }
}
