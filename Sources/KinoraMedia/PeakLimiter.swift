import Foundation

/// A look-ahead brick-wall limiter: the gain falls smoothly ahead of each peak, so no sample exceeds the
/// threshold, then recovers with an exponential release.
struct PeakLimiter {
    let threshold: Float
    let lookahead: Int
    let releaseCoefficient: Float

    init(thresholdDB: Double, sampleRate: Int, lookaheadSeconds: Double = 0.005, releaseSeconds: Double = 0.1) {
        threshold = Float(pow(10, thresholdDB / 20))
        lookahead = max(1, Int(lookaheadSeconds * Double(sampleRate)))
        releaseCoefficient = Float(exp(-1 / (releaseSeconds * Double(sampleRate))))
    }

    func apply(to buffer: AudioBuffer) -> AudioBuffer {
        let frames = buffer.frameCount
        let channels = buffer.channels
        var required = [Float](repeating: 1, count: frames)
        for frame in 0..<frames {
            var peak: Float = 0
            for channel in 0..<channels { peak = max(peak, abs(buffer.samples[frame * channels + channel])) }
            if peak > threshold { required[frame] = threshold / peak }
        }
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
        var output = buffer
        var sum: Float = 0
        var gain: Float = 1
        for frame in 0..<frames {
            sum += windowMinimum[frame] - (frame >= lookahead ? windowMinimum[frame - lookahead] : 1)
            let smoothed = min(1, (sum + Float(lookahead)) / Float(lookahead))
            gain = smoothed < gain ? smoothed : smoothed + (gain - smoothed) * releaseCoefficient
            for channel in 0..<channels { output.samples[frame * channels + channel] *= gain }
        }
        return output
    }
}
