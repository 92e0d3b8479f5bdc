import Foundation

/// Bilinear and bicubic resampling written from ncnn's `Interp` and PyTorch's definitions.
public enum ResizeReference {
    /// ncnn's / PyTorch's resampling of one [planes, h, w] stack in double precision (bicubic: Keys with A = −0.75,
    /// tap indices clamped; bilinear: the coordinate clamped into the image).
    public static func resample(
        _ x: [Float], planes: Int, height: Int, width: Int, outHeight: Int, outWidth: Int,
        bicubic: Bool, alignCorners: Bool, scale: (Double, Double)? = nil
    ) -> [Double] {
        func ratio(_ input: Int, _ output: Int) -> Double {
            alignCorners ? (output > 1 ? Double(input - 1) / Double(output - 1) : 0) : Double(input) / Double(output)
        }
        let scaleY = scale?.0 ?? ratio(height, outHeight)
        let scaleX = scale?.1 ?? ratio(width, outWidth)
        func coordinate(_ d: Int, _ s: Double) -> Double { alignCorners ? Double(d) * s : (Double(d) + 0.5) * s - 0.5 }
        func cubic(_ t: Double) -> [Double] {
            let a = -0.75
            let w0 = a * pow(t + 1, 3) - 5 * a * pow(t + 1, 2) + 8 * a * (t + 1) - 4 * a
            let w1 = (a + 2) * pow(t, 3) - (a + 3) * t * t + 1
            let w2 = (a + 2) * pow(1 - t, 3) - (a + 3) * pow(1 - t, 2) + 1
            return [w0, w1, w2, 1 - w0 - w1 - w2]
        }
        var out = [Double](repeating: 0, count: planes * outHeight * outWidth)
        for p in 0..<planes {
            func at(_ y: Int, _ x: Int) -> Double {
                Double(x_value(p, min(max(y, 0), height - 1), min(max(x, 0), width - 1)))
            }
            func x_value(_ p: Int, _ y: Int, _ x: Int) -> Float { x_[p * height * width + y * width + x] }
            let x_ = x
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var sy = coordinate(oy, scaleY)
                    var sx = coordinate(ox, scaleX)
                    var value = 0.0
                    if bicubic {
                        let y0 = Int(sy.rounded(.down))
                        let x0 = Int(sx.rounded(.down))
                        let wy = cubic(sy - Double(y0))
                        let wx = cubic(sx - Double(x0))
                        for j in 0..<4 {
                            for k in 0..<4 { value += wy[j] * wx[k] * at(y0 - 1 + j, x0 - 1 + k) }
                        }
                    } else {
                        sy = min(max(sy, 0), Double(height - 1))
                        sx = min(max(sx, 0), Double(width - 1))
                        let y0 = Int(sy.rounded(.down))
                        let x0 = Int(sx.rounded(.down))
                        let fy = sy - Double(y0)
                        let fx = sx - Double(x0)
                        value =
                            (at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy)
                            + (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy
                    }
                    out[(p * outHeight + oy) * outWidth + ox] = value
                }
            }
        }
        return out
    }
}
