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
                    // Away from the ends every tap has its sample, and the loop needs no bounds test.
                    let interior = frame >= reach - 1 && frame + reach < frames
                    for channel in 0..<channels {
                        let sample = abs(samples[frame * channels + channel])
                        peaks[frame] = max(peaks[frame], sample)
                        for phase in 0..<TruePeakFilter.factor - 1 {
                            var value: Float = 0
                            if interior {
                                var position = (frame - reach + 1) * channels + channel
                                for index in 0..<width {
                                    value += coefficients[phase * width + index] * samples[position]
                                    position += channels
                                }
                            } else {
                                for index in 0..<width {
                                    let source = frame + index - reach + 1
                                    guard source >= 0, source < frames else { continue }
                                    value += coefficients[phase * width + index] * samples[source * channels + channel]
                                }
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
        let minima = Self.windowMinima(of: required(peaks: peaks), lookahead: lookahead)
        var smoother = Smoother(first: minima.first ?? 1, lookahead: lookahead, releaseCoefficient: releaseCoefficient)
        return minima.indices.map { smoother.next(minima[$0], leaving: $0 >= lookahead ? minima[$0 - lookahead] : nil) }
    }

    /// The gain each frame needs on its own: 1, or the threshold over its peak where the peak is above it.
    private func required(peaks: [Float]) -> [Float] {
        var required = [Float](repeating: 1, count: peaks.count)
        for frame in peaks.indices where peaks[frame] > threshold { required[frame] = threshold / peaks[frame] }
        return required
    }

    /// Minimum of `required` over each frame's next `lookahead` frames (cut at the end), by a monotonic deque.
    private static func windowMinima(of required: [Float], lookahead: Int) -> [Float] {
        let frames = required.count
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
        return windowMinimum
    }

    /// A moving average of the window minima over the previous `lookahead` frames, then the release: every window
    /// that is averaged contains the peak, so the result never exceeds the gain the peak needs. Before the first
    /// frame the average is seeded with the first window's minimum, so a peak within the first `lookahead` frames
    /// is held as well. Its state carries from one frame to the next, whether they come in one buffer or in blocks.
    private struct Smoother {
        let lookahead: Int
        let releaseCoefficient: Float
        let start: Double
        var sum: Double
        var gain: Float

        init(first minimum: Float, lookahead: Int, releaseCoefficient: Float) {
            self.lookahead = lookahead
            self.releaseCoefficient = releaseCoefficient
            start = Double(minimum)
            sum = start * Double(lookahead)
            gain = minimum
        }

        /// The gain of the next frame, whose window minimum is `minimum`; `leaving` is the minimum of the frame
        /// `lookahead` before it (nil before the first frame).
        mutating func next(_ minimum: Float, leaving: Float?) -> Float {
            sum += Double(minimum) - (leaving.map(Double.init) ?? start)
            let smoothed = min(1, Float(sum / Double(lookahead)))
            gain = smoothed < gain ? smoothed : smoothed + (gain - smoothed) * releaseCoefficient
            return gain
        }
    }

    /// Frames on each side of a block that its gains depend on: the look-ahead window and the true-peak filter's
    /// reach, twice (the filter reads samples on both sides of a point, and a frame's peak spreads to its points).
    var margin: Int { lookahead + 2 * TruePeakFilter.reach }

    /// The limiter over audio too long to hold, block by block in order: the same gains as ``apply(to:gain:peaks:)``
    /// gives the whole audio, from the blocks and their margins alone.
    struct Stream {
        let limiter: PeakLimiter
        let gain: Float
        private var smoother: Smoother?
        private var next = 0

        init(limiter: PeakLimiter, gain: Float) {
            self.limiter = limiter
            self.gain = gain
        }

        /// The gains (the limiter's curve, without `gain`) for the frames `range`, the block after the previous
        /// one. `chunk` holds the audio's frames from `chunkStart`: at least `limiter.margin` frames on each side
        /// of `range`, or up to the audio's start or end.
        mutating func gains(for range: Range<Int>, chunk: AudioBuffer, chunkStart: Int) -> [Float] {
            precondition(range.lowerBound == next, "limiter blocks must follow each other")
            next = range.upperBound
            let lookahead = limiter.lookahead
            let minima = PeakLimiter.windowMinima(
                of: limiter.required(peaks: PeakLimiter.truePeaks(of: chunk).map { $0 * gain }), lookahead: lookahead)
            var smoother = self.smoother ?? Smoother(first: minima[0], lookahead: lookahead,
                                                     releaseCoefficient: limiter.releaseCoefficient)
            let curve = range.map { frame in
                smoother.next(minima[frame - chunkStart],
                              leaving: frame >= lookahead ? minima[frame - lookahead - chunkStart] : nil)
            }
            self.smoother = smoother
            return curve
        }
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
