import Foundation

/// The rational-quadratic spline of Piper's flows.
public enum SplineReference {
    /// nflows' unconstrained rational-quadratic spline with linear tails, in double precision, written from
    /// Piper's vits/transforms.py.
    public static func rationalQuadratic(_ x: Float, widths: ArraySlice<Float>, heights: ArraySlice<Float>,
                                         derivatives: ArraySlice<Float>, tailBound: Double, inverse: Bool) -> Double {
        let value = Double(x)
        guard value >= -tailBound, value <= tailBound else { return value }
        let minimum = 1e-3
        let bins = widths.count
        func knots(_ raw: ArraySlice<Float>) -> [Double] {
            let largest = Double(raw.max() ?? 0)
            let weights = raw.map { Foundation.exp(Double($0) - largest) }
            let total = weights.reduce(0, +)
            var knots = [-tailBound]
            var cumulative = 0.0
            for weight in weights {
                cumulative += minimum + (1 - minimum * Double(bins)) * weight / total
                knots.append(2 * tailBound * cumulative - tailBound)
            }
            knots[bins] = tailBound
            return knots
        }
        let knotX = knots(widths), knotY = knots(heights)
        let boundary = Foundation.log(Foundation.exp(1 - minimum) - 1)
        let slopes = ([boundary] + derivatives.map(Double.init) + [boundary]).map {
            minimum + Foundation.log(1 + Foundation.exp($0))
        }
        let edges = inverse ? knotY : knotX
        var bin = 0
        for k in 1...bins where value >= edges[k] + (k == bins ? 1e-6 : 0) { bin = k }
        bin = min(bin, bins - 1)
        let width = knotX[bin + 1] - knotX[bin], height = knotY[bin + 1] - knotY[bin]
        let delta = height / width
        let (d0, d1) = (slopes[bin], slopes[bin + 1])
        let bend = d0 + d1 - 2 * delta
        if inverse {
            let offset = value - knotY[bin]
            let a = offset * bend + height * (delta - d0)
            let b = height * d0 - offset * bend
            let c = -delta * offset
            let root = 2 * c / (-b - (b * b - 4 * a * c).squareRoot())
            return root * width + knotX[bin]
        }
        let theta = (value - knotX[bin]) / width
        let spread = theta * (1 - theta)
        return knotY[bin] + height * (delta * theta * theta + d0 * spread) / (delta + bend * spread)
    }
}
