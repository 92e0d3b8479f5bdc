import Foundation
import KinoraTensor
import XCTest

final class SplineTests: TensorTestCase {
    /// nflows' unconstrained rational-quadratic spline with linear tails, in double precision, written from
    /// Piper's vits/transforms.py.
    private func referenceSpline(_ x: Float, widths: ArraySlice<Float>, heights: ArraySlice<Float>,
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

    private struct Case {
        var shape: [Int]
        var bins: Int
        var tailBound: Float
    }

    func testSplineMatchesTheReferenceInBothDirectionsOnOddSizes() throws {
        for spline in [Case(shape: [1, 37], bins: 10, tailBound: 5), Case(shape: [3, 1, 13], bins: 3, tailBound: 2),
                       Case(shape: [5], bins: 2, tailBound: 1)] {
            let count = spline.shape.reduce(1, *)
            // Some inputs fall outside the tail bound and must pass through unchanged.
            let x = randomValues(count, scale: spline.tailBound * 1.3)
            let widths = randomValues(count * spline.bins, scale: 3)
            let heights = randomValues(count * spline.bins, scale: 3)
            let derivatives = randomValues(count * (spline.bins - 1), scale: 3)
            for inverse in [false, true] {
                let graph = makeGraph()
                let y = try graph.rationalQuadraticSpline(
                    graph.input(x, shape: spline.shape),
                    widths: graph.input(widths, shape: spline.shape + [spline.bins]),
                    heights: graph.input(heights, shape: spline.shape + [spline.bins]),
                    derivatives: graph.input(derivatives, shape: spline.shape + [spline.bins - 1]),
                    tailBound: spline.tailBound, inverse: inverse)
                let result = try graph.run([y])[0]
                XCTAssertEqual(result.shape, spline.shape)
                let expected = (0..<count).map { i in
                    referenceSpline(
                        x[i], widths: widths[(i * spline.bins)..<((i + 1) * spline.bins)],
                        heights: heights[(i * spline.bins)..<((i + 1) * spline.bins)],
                        derivatives: derivatives[(i * (spline.bins - 1))..<((i + 1) * (spline.bins - 1))],
                        tailBound: Double(spline.tailBound), inverse: inverse)
                }
                assertClose(try result.floats(), expected, tolerance: 1e-5,
                            "\(spline.shape) bins \(spline.bins) inverse \(inverse)")
            }
        }
    }

    func testInverseSplineUndoesTheForwardSpline() throws {
        let count = 41, bins = 10
        let x = randomValues(count, scale: 4.9)
        let widths = randomValues(count * bins, scale: 2)
        let heights = randomValues(count * bins, scale: 2)
        let derivatives = randomValues(count * (bins - 1), scale: 2)
        let graph = makeGraph()
        let parameters = try (graph.input(widths, shape: [count, bins]), graph.input(heights, shape: [count, bins]),
                              graph.input(derivatives, shape: [count, bins - 1]))
        let forward = try graph.rationalQuadraticSpline(
            graph.input(x, shape: [count]), widths: parameters.0, heights: parameters.1, derivatives: parameters.2,
            tailBound: 5, inverse: false)
        let back = try graph.rationalQuadraticSpline(
            forward, widths: parameters.0, heights: parameters.1, derivatives: parameters.2, tailBound: 5,
            inverse: true)
        let outputs = try graph.run([forward, back])
        let y = try outputs[0].floats(), roundTrip = try outputs[1].floats()
        XCTAssertGreaterThan(Reference.relativeL2(y, x.map(Double.init)), 1e-2, "the spline must not be the identity")
        assertClose(roundTrip, x.map(Double.init), tolerance: 1e-5)
    }

    func testSplineRejectsMismatchedParameterShapes() throws {
        let graph = makeGraph()
        let x = try graph.input([0, 1, 2], shape: [3])
        let widths = try graph.input([Float](repeating: 0, count: 12), shape: [3, 4])
        let tooFew = try graph.input([Float](repeating: 0, count: 6), shape: [3, 2])
        let enough = try graph.input([Float](repeating: 0, count: 9), shape: [3, 3])
        XCTAssertThrowsError(try graph.rationalQuadraticSpline(x, widths: widths, heights: widths, derivatives: tooFew,
                                                               tailBound: 1, inverse: true))
        XCTAssertThrowsError(try graph.rationalQuadraticSpline(x, widths: widths, heights: widths, derivatives: enough,
                                                               tailBound: 0, inverse: true))
        XCTAssertNoThrow(try graph.rationalQuadraticSpline(x, widths: widths, heights: widths, derivatives: enough,
                                                           tailBound: 1, inverse: true))
    }
}
