/// The backward warp against grid_sample's definition (bilinear, border padding, aligned corners) in double
/// precision.
public enum WarpReference {
    /// The backward warp of [N, C, H, W] `image` by channels `flowChannel` and `flowChannel + 1` of a
    /// [N, flowChannels, H, W] flow field.
    public static func backwardWarp(_ image: [Float], shape: [Int], flow: [Float], flowChannels: Int, flowChannel: Int)
        -> [Double]
    {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        var out = [Double](repeating: 0, count: image.count)
        for b in 0..<n {
            for y in 0..<h {
                for x in 0..<w {
                    let flowIndex = ((b * flowChannels + flowChannel) * h + y) * w + x
                    let sx = min(max(Double(x) + Double(flow[flowIndex]), 0), Double(w - 1))
                    let sy = min(max(Double(y) + Double(flow[flowIndex + h * w]), 0), Double(h - 1))
                    let x0 = Int(sx.rounded(.down))
                    let y0 = Int(sy.rounded(.down))
                    let (fx, fy) = (sx - Double(x0), sy - Double(y0))
                    let (x1, y1) = (min(x0 + 1, w - 1), min(y0 + 1, h - 1))
                    for ch in 0..<c {
                        let base = (b * c + ch) * h * w
                        func at(_ yy: Int, _ xx: Int) -> Double { Double(image[base + yy * w + xx]) }
                        out[base + y * w + x] =
                            (at(y0, x0) * (1 - fx) + at(y0, x1) * fx) * (1 - fy)
                            + (at(y1, x0) * (1 - fx) + at(y1, x1) * fx) * fy
                    }
                }
            }
        }
        return out
    }
}
