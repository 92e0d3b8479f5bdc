import Foundation

/// How music is turned down under voice: a sidechain compressor keyed by the voice tracks.
public struct DuckingSettings: Sendable, Hashable {
    /// Gain applied to music while voice is present, in dB (negative).
    public var reductionDB: Double
    /// Voice level (envelope, dBFS) above which ducking engages.
    public var thresholdDB: Double
    /// Time for the music gain to fall to the reduction, in seconds.
    public var attack: Double
    /// Time for the music gain to recover after the voice stops, in seconds.
    public var release: Double

    public init(reductionDB: Double = -12, thresholdDB: Double = -40, attack: Double = 0.05, release: Double = 0.4) {
        self.reductionDB = reductionDB
        self.thresholdDB = thresholdDB
        self.attack = attack
        self.release = release
    }
}

/// Computes the music gain curve from a voice key signal. It carries its envelope follower's state from one call of
/// ``gains(key:channels:)`` to the next, so a key fed block by block gives the curve the whole key would.
struct Ducker {
    let settings: DuckingSettings
    let sampleRate: Int
    private let envelopeDecay: Float
    private let attackCoefficient: Double
    private let releaseCoefficient: Double
    private let threshold: Float
    private var envelope: Float = 0
    private var gainDB = 0.0

    init(settings: DuckingSettings, sampleRate: Int) {
        self.settings = settings
        self.sampleRate = sampleRate
        let rate = Double(sampleRate)
        envelopeDecay = Float(exp(-1 / (0.05 * rate)))
        attackCoefficient = exp(-1 / (max(settings.attack, 1e-4) * rate))
        releaseCoefficient = exp(-1 / (max(settings.release, 1e-4) * rate))
        threshold = Float(pow(10, settings.thresholdDB / 20))
    }

    /// One linear gain per frame of `key`: 1 where the voice is quiet, falling to the reduction (with the attack
    /// time) where its envelope is above the threshold, rising back with the release time.
    func gainCurve(key: AudioBuffer) -> [Float] {
        var ducker = self
        return ducker.gains(key: key.samples, channels: key.channels)
    }

    /// The gains for the next frames of the key (`key`: interleaved samples of `channels` channels), continuing
    /// from the frames given before.
    mutating func gains(key: [Float], channels: Int) -> [Float] {
        let frames = key.count / channels
        var curve = [Float](repeating: 1, count: frames)
        for frame in 0..<frames {
            var level: Float = 0
            for channel in 0..<channels { level = max(level, abs(key[frame * channels + channel])) }
            envelope = level > envelope ? level : envelope * envelopeDecay
            let target = envelope > threshold ? settings.reductionDB : 0
            let coefficient = target < gainDB ? attackCoefficient : releaseCoefficient
            gainDB = target + (gainDB - target) * coefficient
            curve[frame] = Float(pow(10, gainDB / 20))
        }
        return curve
    }
}
