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

        return try searchGain(original: original, targetLUFS: targetLUFS, truePeakCeiling: truePeakCeiling,
                              maximumLimitingDB: maximumLimitingDB, pass: pass, gainDB: { $0.gainDB },
                              loudness: { $0.loudness })
    }

    /// The result of `pass` whose loudness comes closest to `targetLUFS`: the gain that would reach the target
    /// unlimited first, then secant steps until within `aim`, at most `maximumPasses` passes.
    private static func searchGain<Pass>(original: LoudnessMeasurement, targetLUFS: Double, truePeakCeiling: Double,
                                         maximumLimitingDB: Double, pass: (Double) throws -> Pass,
                                         gainDB: (Pass) -> Double, loudness: (Pass) -> LoudnessMeasurement) throws
        -> Pass
    {
        let maximumGainDB = truePeakCeiling - original.truePeak + maximumLimitingDB
        var latest = try pass(min(targetLUFS - original.integrated, maximumGainDB))
        var earlier: Pass?
        var best = latest
        for _ in 1..<maximumPasses {
            let error = targetLUFS - loudness(latest).integrated
            if abs(error) <= aim || (error > 0 && gainDB(latest) >= maximumGainDB) { break }
            // Secant step: the loudness rises by at most 1 LU per dB of gain, less the deeper the limiter works.
            var slope = 1.0
            if let earlier, gainDB(earlier) != gainDB(latest) {
                let rise = loudness(latest).integrated - loudness(earlier).integrated
                slope = min(1, max(0.05, rise / (gainDB(latest) - gainDB(earlier))))
            }
            earlier = latest
            latest = try pass(min(gainDB(latest) + error / slope, maximumGainDB))
            if abs(targetLUFS - loudness(latest).integrated) < abs(targetLUFS - loudness(best).integrated) {
                best = latest
            }
        }
        return best
    }

    /// ``normalize(_:targetLUFS:truePeakCeiling:maximumLimitingDB:)`` of audio too long to hold: the same passes
    /// and the same samples, each pass reading the audio again block by block through `read` (interleaved frames
    /// of a range, `frames` in all) and limiting it with the limiter's state carried from block to block. The
    /// normalised audio goes to `write` in blocks of `blockFrames`, in order. `original` is the audio's measurement.
    static func normalize(frames: Int, channels: Int, sampleRate: Int, original: LoudnessMeasurement,
                          blockFrames: Int, read: (Range<Int>) throws -> [Float], targetLUFS: Double,
                          truePeakCeiling: Double, maximumLimitingDB: Double = 12,
                          write: ([Float]) throws -> Void) throws -> (gainDB: Double, loudness: LoudnessMeasurement)
    {
        guard original.integrated.isFinite else {
            for start in stride(from: 0, to: frames, by: blockFrames) {
                try write(read(start..<min(frames, start + blockFrames)))
            }
            return (0, original)
        }
        let limiter = PeakLimiter(thresholdDB: truePeakCeiling, sampleRate: sampleRate)
        /// The audio at `gainDB`, limited where its true peak would pass the ceiling, then trimmed by `trim`.
        func render(gainDB: Double, trim: Float?, into consume: ([Float]) throws -> Void) throws {
            let gain = Float(pow(10, gainDB / 20))
            var stream = original.truePeak + gainDB <= truePeakCeiling
                ? nil : PeakLimiter.Stream(limiter: limiter, gain: gain)
            for start in stride(from: 0, to: frames, by: blockFrames) {
                let end = min(frames, start + blockFrames)
                var block: [Float]
                if stream != nil {
                    let chunkStart = max(0, start - limiter.margin)
                    let chunk = try AudioBuffer(sampleRate: sampleRate, channels: channels,
                                                samples: read(chunkStart..<min(frames, end + limiter.margin)))
                    let curve = stream!.gains(for: start..<end, chunk: chunk, chunkStart: chunkStart)
                    block = Array(chunk.samples[((start - chunkStart) * channels)..<((end - chunkStart) * channels)])
                    for frame in curve.indices {
                        for channel in 0..<channels { block[frame * channels + channel] *= gain * curve[frame] }
                    }
                } else {
                    block = try read(start..<end)
                    for i in block.indices { block[i] *= gain }
                }
                if let trim {
                    for i in block.indices { block[i] *= trim }
                }
                try consume(block)
            }
        }
        func measure(gainDB: Double, trim: Float?) throws -> LoudnessMeasurement {
            let meter = try LoudnessMeter(channels: channels, sampleRate: sampleRate)
            try render(gainDB: gainDB, trim: trim) { try meter.add($0) }
            return LoudnessMeasurement(integrated: try meter.integrated(), truePeak: try meter.truePeak())
        }
        typealias Pass = (gainDB: Double, trim: Float?, loudness: LoudnessMeasurement)
        func pass(gainDB: Double) throws -> Pass {
            let reached = try measure(gainDB: gainDB, trim: nil)
            guard reached.truePeak > truePeakCeiling else { return (gainDB, nil, reached) }
            // As in the whole-buffer normalisation: a trim by what the limiter left over the ceiling.
            let trim = Float(pow(10, (truePeakCeiling - reached.truePeak) / 20))
            return (gainDB, trim, try measure(gainDB: gainDB, trim: trim))
        }
        let best = try searchGain(original: original, targetLUFS: targetLUFS, truePeakCeiling: truePeakCeiling,
                                  maximumLimitingDB: maximumLimitingDB, pass: pass, gainDB: { $0.gainDB },
                                  loudness: { $0.loudness })
        try render(gainDB: best.gainDB, trim: best.trim, into: write)
        return (best.gainDB, best.loudness)
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
