import Foundation

/// MusicGen's sinusoidal position embedding (transformers' `MusicgenSinusoidalPositionalEmbedding`, tensor2tensor's
/// form): for position p, cos(p·f_i) for the first half of the width, then sin(p·f_i), f_i = exp(−i·ln(10000) /
/// (half − 1)), computed in f32 as PyTorch does.
enum MusicGenPositions {
    /// The rows of positions `start..<start + count`, [count, width] row-major.
    static func rows(start: Int, count: Int, width: Int) -> [Float] {
        let half = width / 2
        let step = Float(log(10000.0) / Double(half - 1))
        let frequencies = (0..<half).map { Foundation.exp(Float($0) * -step) }
        var rows = [Float](repeating: 0, count: count * width)
        for row in 0..<count {
            let position = Float(start + row)
            for i in 0..<half {
                let angle = position * frequencies[i]
                rows[row * width + i] = Foundation.cos(angle)
                rows[row * width + half + i] = Foundation.sin(angle)
            }
        }
        return rows
    }
}
