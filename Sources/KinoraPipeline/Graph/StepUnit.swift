/// What one unit of a stage's progress is: a step of its work (a sampler step, a stage that reports none) or a video
/// frame made or passed on (a clip's decode, upscaling, interpolation, the conform, a still's animation, the
/// encode). Progress shows frame stages in frames per second.
public enum StepUnit: String, Sendable, Hashable, Codable {
    case step
    case frame

    /// The rate's unit as progress shows it.
    public var rateLabel: String {
        switch self {
        case .step: return "it/s"
        case .frame: return "fps"
        }
    }
}

/// How fast a running stage goes: its unit, units a second since it started, and the seconds left at that rate.
public struct StepRate: Sendable, Hashable {
    public var unit: StepUnit
    public var perSecond: Double
    public var etaSeconds: Double

    /// The rate after `done` of `total` units in `seconds`; nil before the first unit or without elapsed time.
    public init?(unit: StepUnit, done: Int, total: Int, seconds: Double) {
        guard done > 0, seconds > 0 else { return nil }
        self.unit = unit
        perSecond = Double(done) / seconds
        etaSeconds = Double(max(0, total - done)) / perSecond
    }
}
