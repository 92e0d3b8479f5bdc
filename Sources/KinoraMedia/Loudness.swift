import CEBUR128
import Foundation

/// Loudness and peak of a piece of audio, per EBU R 128 / ITU-R BS.1770.
public struct LoudnessMeasurement: Sendable, Equatable {
    /// Integrated (programme) loudness in LUFS; `-infinity` for silence.
    public let integrated: Double
    /// True peak (4× oversampled) in dBTP over all channels.
    public let truePeak: Double
}

/// Measures loudness with libebur128 and normalises audio to a loudness target under a true-peak ceiling.
public enum Loudness {
    /// The integrated loudness and true peak of `buffer`.
    public static func measure(_ buffer: AudioBuffer) throws -> LoudnessMeasurement {
        let meter = try LoudnessMeter(channels: buffer.channels, sampleRate: buffer.sampleRate)
        try meter.add(buffer.samples)
        return LoudnessMeasurement(integrated: try meter.integrated(), truePeak: try meter.truePeak())
    }

    /// `buffer` scaled to `targetLUFS` integrated loudness; if that puts the true peak above `truePeakCeiling`
    /// (dBTP), a look-ahead limiter holds it under the ceiling. Silence is returned unchanged.
    public static func normalize(_ buffer: AudioBuffer, targetLUFS: Double = -14, truePeakCeiling: Double = -1)
        throws -> (audio: AudioBuffer, gainDB: Double)
    {
        let before = try measure(buffer)
        guard before.integrated.isFinite else { return (buffer, 0) }
        let gainDB = targetLUFS - before.integrated
        let gain = Float(pow(10, gainDB / 20))
        var audio = buffer
        for i in audio.samples.indices { audio.samples[i] *= gain }
        var threshold = truePeakCeiling
        for _ in 0..<6 {
            let peak = try measure(audio).truePeak
            guard peak > truePeakCeiling else { break }
            threshold -= peak - truePeakCeiling + 0.05
            let scaled = audio
            audio = PeakLimiter(thresholdDB: threshold, sampleRate: buffer.sampleRate).apply(to: scaled)
        }
        return (audio, gainDB)
    }
}

/// Owns an `ebur128_state`.
final class LoudnessMeter {
    private var state: UnsafeMutablePointer<ebur128_state>?
    private let channels: Int

    init(channels: Int, sampleRate: Int) throws {
        self.channels = channels
        state = ebur128_init(UInt32(channels), UInt(sampleRate), Int32(EBUR128_MODE_I.rawValue | EBUR128_MODE_TRUE_PEAK.rawValue))
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
        ebur128_destroy(&state)
    }
}
