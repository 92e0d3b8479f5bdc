import Foundation

/// A look-ahead brick-wall true-peak limiter: the gain falls smoothly ahead of each peak, so neither a sample nor
/// the waveform between samples (4× oversampled, as BS.1770 measures true peak) exceeds the threshold, then
/// recovers with an exponential release.
struct PeakLimiter {
    let threshold: Float
    let lookahead: Int
    let releaseCoefficient: Float

    init(thresholdDB: Double, sampleRate: Int, lookaheadSeconds: Double = 0.005, releaseSeconds: Double = 0.1) {
        threshold = Float(pow(10, thresholdDB / 20))
        lookahead = max(1, Int(lookaheadSeconds * Double(sampleRate)))
        releaseCoefficient = Float(exp(-1 / (releaseSeconds * Double(sampleRate))))
    }

    /// `buffer` limited to the threshold.
    func apply(to buffer: AudioBuffer) -> AudioBuffer {
        apply(to: buffer, gain: 1, peaks: Self.truePeaks(of: buffer))
    }

    /// `buffer` scaled by `gain`, then limited to the threshold; `peaks` are `truePeaks(of: buffer)`, so a caller
    /// trying several gains on one buffer detects its peaks once.
    func apply(to buffer: AudioBuffer, gain: Float, peaks: [Float]) -> AudioBuffer {
        let curve = gainCurve(peaks: peaks.map { $0 * gain })
        var output = buffer
        let channels = buffer.channels
        for frame in curve.indices {
            for channel in 0..<channels { output.samples[frame * channels + channel] *= gain * curve[frame] }
        }
        return output
    }

    /// Per frame, the largest magnitude over all channels of the sample and of every point of the 4× oversampled
    /// waveform (libebur128's true-peak interpolation) whose filter reads that sample, so the gain the limiter
    /// holds across a peak covers all the samples that make it up.
    static func truePeaks(of buffer: AudioBuffer) -> [Float] {
        let frames = buffer.frameCount
        let channels = buffer.channels
        let coefficients = TruePeakFilter.coefficients
        let width = TruePeakFilter.width
        let reach = TruePeakFilter.reach
        // between[frame]: largest magnitude of the points from `frame` to `frame + 1`, which read samples
        // `frame - reach + 1 ... frame + reach`.
        var between = [Float](repeating: 0, count: frames)
        var peaks = [Float](repeating: 0, count: frames)
        buffer.samples.withUnsafeBufferPointer { samples in
            coefficients.withUnsafeBufferPointer { coefficients in
                for frame in 0..<frames {
                    for channel in 0..<channels {
                        let sample = abs(samples[frame * channels + channel])
                        peaks[frame] = max(peaks[frame], sample)
                        for phase in 0..<TruePeakFilter.factor - 1 {
                            var value: Float = 0
                            for index in 0..<width {
                                let source = frame + index - reach + 1
                                guard source >= 0, source < frames else { continue }
                                value += coefficients[phase * width + index] * samples[source * channels + channel]
                            }
                            between[frame] = max(between[frame], abs(value))
                        }
                    }
                }
            }
        }
        var spread = peaks
        for frame in 0..<frames {
            for point in max(0, frame - reach)..<min(frames, frame + reach) {
                spread[frame] = max(spread[frame], between[point])
            }
        }
        return spread
    }

    /// The gain for each frame that holds `peaks` under the threshold.
    private func gainCurve(peaks: [Float]) -> [Float] {
        let frames = peaks.count
        var required = [Float](repeating: 1, count: frames)
        for frame in 0..<frames where peaks[frame] > threshold { required[frame] = threshold / peaks[frame] }
        // Minimum of the required gain over the next `lookahead` frames (monotonic deque), then a moving average
        // over the previous `lookahead` frames: every window that is averaged contains the peak, so the result
        // never exceeds the gain the peak needs.
        var windowMinimum = [Float](repeating: 1, count: frames)
        var deque: [Int] = []
        var head = 0
        for frame in stride(from: frames - 1, through: 0, by: -1) {
            while deque.count > head, required[deque[deque.count - 1]] >= required[frame] { deque.removeLast() }
            deque.append(frame)
            while deque[head] >= frame + lookahead { head += 1 }
            windowMinimum[frame] = required[deque[head]]
            if head > 4096 {
                deque.removeFirst(head)
                head = 0
            }
        }
        // Before the first frame the average is seeded with the first window's minimum, so a peak within the
        // first `lookahead` frames is held as well.
        let start = Double(windowMinimum.first ?? 1)
        var curve = [Float](repeating: 1, count: frames)
        var sum = start * Double(lookahead)
        var gain = Float(start)
        for frame in 0..<frames {
            let leaving = frame >= lookahead ? Double(windowMinimum[frame - lookahead]) : start
            sum += Double(windowMinimum[frame]) - leaving
            let smoothed = min(1, Float(sum / Double(lookahead)))
            gain = smoothed < gain ? smoothed : smoothed + (gain - smoothed) * releaseCoefficient
            curve[frame] = gain
        }
        return curve
    }
}

/// libebur128's 4× true-peak interpolator (49-tap Hann-windowed sinc), as the three polyphase filters that give the
/// points a quarter, half and three quarters of the way from one sample to the next.
private enum TruePeakFilter {
    static let factor = 4
    static let taps = 49
    /// Samples on each side of an interpolated point that its filter reads.
    static let reach = taps / factor / 2
    /// Taps per phase.
    static let width = 2 * reach

    /// Phase `k`, tap `i` (at `k * width + i`) weighs sample `frame + i - reach + 1` for the point
    /// `frame + (k + 1) / factor`.
    static let coefficients: [Float] = (1..<factor).flatMap { offset in
        (0..<width).map { index -> Float in
            // Upsampling puts sample n at output factor * n; tap j, centred on (taps - 1) / 2, reads it there.
            let j = (taps - 1) / 2 + offset - factor * (index - reach + 1)
            guard j >= 0, j < taps else { return 0 }
            let m = Double(j - (taps - 1) / 2)
            let x = m * Double.pi / Double(factor)
            let sinc = abs(m) < 1e-9 ? 1 : sin(x) / x
            let window = 0.5 * (1 - cos(2 * Double.pi * Double(j) / Double(taps - 1)))
            return Float(sinc * window)
        }
    }
}
