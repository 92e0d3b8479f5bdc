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

/// Computes the music gain curve from a voice key signal.
struct Ducker {
    let settings: DuckingSettings
    let sampleRate: Int

    /// One linear gain per frame of `key`: 1 where the voice is quiet, falling to the reduction (with the attack
    /// time) where its envelope is above the threshold, rising back with the release time.
    func gainCurve(key: AudioBuffer) -> [Float] {
        let rate = Double(sampleRate)
        let envelopeDecay = Float(exp(-1 / (0.05 * rate)))
        let attackCoefficient = exp(-1 / (max(settings.attack, 1e-4) * rate))
        let releaseCoefficient = exp(-1 / (max(settings.release, 1e-4) * rate))
        let threshold = Float(pow(10, settings.thresholdDB / 20))
        var envelope: Float = 0
        var gainDB = 0.0
        var curve = [Float](repeating: 1, count: key.frameCount)
        for frame in 0..<key.frameCount {
            var level: Float = 0
            for channel in 0..<key.channels { level = max(level, abs(key[frame, channel])) }
            envelope = level > envelope ? level : envelope * envelopeDecay
            let target = envelope > threshold ? settings.reductionDB : 0
            let coefficient = target < gainDB ? attackCoefficient : releaseCoefficient
            gainDB = target + (gainDB - target) * coefficient
            curve[frame] = Float(pow(10, gainDB / 20))
        }
        return curve
    }
}
