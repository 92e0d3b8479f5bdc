import Foundation

/// The ranges numbers from options and files must lie in before they size a buffer or reach an integer conversion,
/// and the one check that enforces them where they enter: it names the number and where it came from, and states
/// the allowed range. NaN lies in no range, so it is refused with the rest.
public enum ValueBounds {
    /// Sample rates audio is mixed, resampled, measured or synthesised at, in Hz.
    public static let sampleRate: ClosedRange<Int> = 8_000...384_000
    /// Places on a timeline and lengths of audio, in seconds (a day).
    public static let seconds: ClosedRange<Double> = 0...86_400
    /// Fade lengths, in seconds.
    public static let fade: ClosedRange<Double> = 0...600
    /// Gains of tracks and cues, in dB.
    public static let gainDB: ClosedRange<Double> = -60...24
    /// Stereo balance.
    public static let pan: ClosedRange<Double> = -1...1
    /// Integrated loudness targets, in LUFS.
    public static let loudness: ClosedRange<Double> = -70...0
    /// True-peak ceilings, in dBTP.
    public static let truePeak: ClosedRange<Double> = -20...0
    /// How far ducking turns music down, in dB.
    public static let duckingDB: ClosedRange<Double> = -60...0
    /// Voice levels above which ducking starts, in dB.
    public static let duckingThresholdDB: ClosedRange<Double> = -90...0
    /// Ducking attack and release times, in seconds.
    public static let duckingTime: ClosedRange<Double> = 0.001...10
    /// Frame rates of the videos encoded and rendered, in frames per second.
    public static let framesPerSecond: ClosedRange<Double> = 1...240
    /// Sides of the video frames encoded, in pixels: the largest codec levels (H.264 6.2, HEVC 6.2) stop at
    /// 8192 × 4320, and one RGB frame of 16384 × 16384 is already 805 MB.
    public static let frameSide: ClosedRange<Int> = 1...16_384

    /// `value`, or `MediaError.outOfRange` naming it (`what`, such as "track 'a.wav' start") and the range, in `unit`.
    @discardableResult
    public static func check(_ value: Double, _ what: String, in range: ClosedRange<Double>, unit: String = "") throws
        -> Double {
        guard range.contains(value) else {
            throw MediaError.outOfRange(what: what, value: format(value), allowed: "\(format(range.lowerBound))..."
                                            + "\(format(range.upperBound))" + (unit.isEmpty ? "" : " \(unit)"))
        }
        return value
    }

    /// `value`, or `MediaError.outOfRange` naming it and the range.
    @discardableResult
    public static func check(_ value: Int, _ what: String, in range: ClosedRange<Int>, unit: String = "") throws
        -> Int {
        guard range.contains(value) else {
            throw MediaError.outOfRange(what: what, value: String(value), allowed: "\(range.lowerBound)..."
                                            + "\(range.upperBound)" + (unit.isEmpty ? "" : " \(unit)"))
        }
        return value
    }

    /// A number without a trailing `.0` where it is whole and of a readable size.
    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
