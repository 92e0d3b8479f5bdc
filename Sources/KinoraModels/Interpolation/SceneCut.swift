/// Tells a scene cut from motion, so a cut is not morphed: the two frames are shrunk to 32 × 32 luma (box average)
/// and compared by the structural similarity of the whole shrunk pictures (one SSIM window over all of it,
/// C1 = 0.01², C2 = 0.03² for values in [0, 1]). Practical-RIFE treats a similarity under 0.2 as a cut and repeats
/// the earlier frame instead of interpolating; this is the same rule over a simpler (single-window) SSIM.
public enum SceneCut {
    /// Below this similarity, two frames are a cut (Practical-RIFE's threshold).
    public static let defaultThreshold = 0.2
    static let side = 32

    /// The 32 × 32 luma (BT.601 weights) of a planar RGB frame [3, height, width], each cell the mean of its pixels.
    static func thumbnail(_ frame: [Float], height: Int, width: Int) -> [Double] {
        var sums = [Double](repeating: 0, count: side * side)
        var counts = [Double](repeating: 0, count: side * side)
        let plane = height * width
        for y in 0..<height {
            let row = y * side / height
            for x in 0..<width {
                let cell = row * side + x * side / width
                let i = y * width + x
                sums[cell] +=
                    0.299 * Double(frame[i]) + 0.587 * Double(frame[plane + i]) + 0.114 * Double(frame[2 * plane + i])
                counts[cell] += 1
            }
        }
        return zip(sums, counts).map { $1 > 0 ? $0 / $1 : 0 }
    }

    /// The similarity of two planar RGB frames [3, height, width] in [0, 1]: 1 for equal pictures, near 0 or below
    /// for unrelated ones.
    public static func similarity(_ a: [Float], _ b: [Float], height: Int, width: Int) -> Double {
        let x = thumbnail(a, height: height, width: width)
        let y = thumbnail(b, height: height, width: width)
        let n = Double(x.count)
        let meanX = x.reduce(0, +) / n
        let meanY = y.reduce(0, +) / n
        var varianceX = 0.0
        var varianceY = 0.0
        var covariance = 0.0
        for (p, q) in zip(x, y) {
            varianceX += (p - meanX) * (p - meanX)
            varianceY += (q - meanY) * (q - meanY)
            covariance += (p - meanX) * (q - meanY)
        }
        (varianceX, varianceY, covariance) = (varianceX / (n - 1), varianceY / (n - 1), covariance / (n - 1))
        let c1 = 0.01 * 0.01
        let c2 = 0.03 * 0.03
        return ((2 * meanX * meanY + c1) * (2 * covariance + c2))
            / ((meanX * meanX + meanY * meanY + c1) * (varianceX + varianceY + c2))
    }

    /// Whether the step from `a` to `b` is a cut at `threshold`.
    public static func isCut(
        _ a: [Float], _ b: [Float], height: Int, width: Int,
        threshold: Double = defaultThreshold
    ) -> Bool {
        similarity(a, b, height: height, width: width) < threshold
    }
}
