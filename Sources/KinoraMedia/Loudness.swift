import CEBUR128
import Foundation

/// Loudness and peak of a piece of audio, per EBU R 128 / ITU-R BS.1770.
public struct LoudnessMeasurement: Sendable, Equatable {
    /// Integrated (programme) loudness in LUFS; `-infinity` for silence.
    public let integrated: Double
    /// True peak (4× oversampled) in dBTP over all channels.
    public let truePeak: Double
}

/// Audio normalised to a loudness target, with the loudness it reached.
public struct LoudnessNormalization: Sendable, Equatable {
    /// The normalised (and, where needed, limited) audio.
    public let audio: AudioBuffer
    /// Gain applied ahead of the limiter, in dB.
    public let gainDB: Double
    /// Integrated loudness and true peak of `audio`: the target, or as close as the limiter allowed.
    public let loudness: LoudnessMeasurement
}

/// Measures loudness with libebur128 and normalises audio to a loudness target under a true-peak ceiling.
public enum Loudness {
    /// How close to the target normalisation aims before it stops refining the gain, in LU.
    static let aim = 0.05
    /// Gain refinements normalisation tries at most.
    static let maximumPasses = 6

    /// The integrated loudness and true peak of `buffer`.
    public static func measure(_ buffer: AudioBuffer) throws -> LoudnessMeasurement {
        let meter = try LoudnessMeter(channels: buffer.channels, sampleRate: buffer.sampleRate)
        try meter.add(buffer.samples)
        return LoudnessMeasurement(integrated: try meter.integrated(), truePeak: try meter.truePeak())
    }

    /// `buffer` scaled to `targetLUFS` integrated loudness with its true peak held at or under `truePeakCeiling`
    /// (dBTP) by a look-ahead true-peak limiter. Limiting lowers the loudness, so the gain is refined over a few
    /// passes until the result is within 0.05 LU of the target. The limiter never takes more than
    /// `maximumLimitingDB` off the loudest peak, since deeper limiting pumps audibly; a target that needs more
    /// (a very high crest factor) is missed, and the result's `loudness` says by how much. Silence is returned
    /// unchanged.
    public static func normalize(_ buffer: AudioBuffer, targetLUFS: Double = -14, truePeakCeiling: Double = -1,
                                 maximumLimitingDB: Double = 12) throws -> LoudnessNormalization
    {
        guard maximumLimitingDB >= 0 else {
            throw MediaError.invalidArgument("maximum limiting must not be negative, got \(maximumLimitingDB) dB")
        }
        let original = try measure(buffer)
        guard original.integrated.isFinite else {
            return LoudnessNormalization(audio: buffer, gainDB: 0, loudness: original)
        }
        let limiter = PeakLimiter(thresholdDB: truePeakCeiling, sampleRate: buffer.sampleRate)
        var peaks: [Float]?
        func pass(gainDB: Double) throws -> LoudnessNormalization {
            let gain = Float(pow(10, gainDB / 20))
            var audio = buffer
            if original.truePeak + gainDB <= truePeakCeiling {
                for i in audio.samples.indices { audio.samples[i] *= gain }
            } else {
                let detected = peaks ?? PeakLimiter.truePeaks(of: buffer)
                peaks = detected
                audio = limiter.apply(to: buffer, gain: gain, peaks: detected)
            }
            let reached = try measure(audio)
            guard reached.truePeak > truePeakCeiling else {
                return LoudnessNormalization(audio: audio, gainDB: gainDB, loudness: reached)
            }
            // The limiter reads the true peak of its input; the gain it applies reshapes the waveform slightly, so
            // a peak can end up a few hundredths of a dB over. A trim by that much holds the ceiling exactly.
            let trim = Float(pow(10, (truePeakCeiling - reached.truePeak) / 20))
            for i in audio.samples.indices { audio.samples[i] *= trim }
            return LoudnessNormalization(audio: audio, gainDB: gainDB, loudness: try measure(audio))
        }

        let maximumGainDB = truePeakCeiling - original.truePeak + maximumLimitingDB
        var latest = try pass(gainDB: min(targetLUFS - original.integrated, maximumGainDB))
        var earlier: LoudnessNormalization?
        var best = latest
        for _ in 1..<maximumPasses {
            let error = targetLUFS - latest.loudness.integrated
            if abs(error) <= aim || (error > 0 && latest.gainDB >= maximumGainDB) { break }
            // Secant step: the loudness rises by at most 1 LU per dB of gain, less the deeper the limiter works.
            var slope = 1.0
            if let earlier, earlier.gainDB != latest.gainDB {
                let rise = latest.loudness.integrated - earlier.loudness.integrated
                slope = min(1, max(0.05, rise / (latest.gainDB - earlier.gainDB)))
            }
            earlier = latest
            latest = try pass(gainDB: min(latest.gainDB + error / slope, maximumGainDB))
            if abs(targetLUFS - latest.loudness.integrated) < abs(targetLUFS - best.loudness.integrated) {
                best = latest
            }
        }
        return best
    }
}

/// Owns an `ebur128_state`.
final class LoudnessMeter {
    private var state: UnsafeMutablePointer<ebur128_state>?
    private let channels: Int

    init(channels: Int, sampleRate: Int) throws {
        self.channels = channels
        // libebur128 takes 16 Hz to 2.8224 MHz and up to 64 channels, and returns NULL otherwise.
        try ValueBounds.check(sampleRate, "the sample rate of the audio to measure", in: 16...2_822_400, unit: "Hz")
        try ValueBounds.check(channels, "the channel count of the audio to measure", in: 1...64)
        let mode = Int32(EBUR128_MODE_I.rawValue | EBUR128_MODE_TRUE_PEAK.rawValue)
        state = ebur128_init(UInt32(channels), UInt(sampleRate), mode)
        guard state != nil else { throw MediaError.loudness(call: "ebur128_init", code: -1) }
    }

    func add(_ samples: [Float]) throws {
        let status = samples.withUnsafeBufferPointer {
            ebur128_add_frames_float(state, $0.baseAddress, samples.count / channels)
        }
        guard status == 0 else { throw MediaError.loudness(call: "ebur128_add_frames_float", code: status) }
    }

    func integrated() throws -> Double {
        var value = 0.0
        let status = ebur128_loudness_global(state, &value)
        guard status == 0 else { throw MediaError.loudness(call: "ebur128_loudness_global", code: status) }
        return value
    }

    func truePeak() throws -> Double {
        var peak = 0.0
        for channel in 0..<channels {
            var value = 0.0
            let status = ebur128_true_peak(state, UInt32(channel), &value)
            guard status == 0 else { throw MediaError.loudness(call: "ebur128_true_peak", code: status) }
            peak = max(peak, value)
        }
        return 20 * log10(peak)
    }

    deinit {
        // A failed init leaves no state, and libebur128's destroy dereferences what it is given.
        if state != nil { ebur128_destroy(&state) }
    }
}
