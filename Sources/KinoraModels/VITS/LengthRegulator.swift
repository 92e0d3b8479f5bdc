import Foundation

/// VITS's length regulation, on the host (the alignment is a few hundred integers): durations from the predicted
/// log-durations, and the prior stretched from phoneme ids to frames by `commons.generate_path`'s monotonic path.
enum LengthRegulator {
    /// The most frames one phoneme id may last (about 12 minutes at Piper's hop of 256 samples at 22.05 kHz): a
    /// longer prediction means the model diverged, and would otherwise exhaust memory.
    static let maximumDuration = 1 << 16

    /// `ceil(exp(logw) · length_scale)` frames per phoneme id, computed in Float as Piper's graph does.
    static func durations(logDurations: [Float], lengthScale: Float) throws -> [Int] {
        try logDurations.enumerated().map { position, logDuration in
            let frames = (Foundation.exp(logDuration) * lengthScale).rounded(.up)
            guard frames.isFinite, frames <= Float(maximumDuration) else {
                throw VITSError.durationOutOfRange(position: position, logDuration: logDuration)
            }
            return Int(frames)
        }
    }

    /// Frames in the output: the sum of the durations, at least 1 (`torch.clamp_min(..., 1)`).
    static func frameCount(_ durations: [Int]) -> Int {
        max(durations.reduce(0, +), 1)
    }

    /// `values` [channels, T] (row-major) repeated along time by `durations`: [channels, frames], where frame f
    /// takes phoneme j's column when the durations before j sum to ≤ f and through j to > f; frames past the
    /// last phoneme (only when every duration is 0) are zero.
    static func expand(_ values: [Float], channels: Int, durations: [Int]) -> [Float] {
        let length = durations.count
        let frames = frameCount(durations)
        var result = [Float](repeating: 0, count: channels * frames)
        var frame = 0
        for (phoneme, duration) in durations.enumerated() {
            for _ in 0..<duration {
                for channel in 0..<channels {
                    result[channel * frames + frame] = values[channel * length + phoneme]
                }
                frame += 1
            }
        }
        return result
    }
}
