import Foundation
import KinoraReference
import KinoraTensor
import XCTest

final class SplineTests: TensorTestCase {
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
                    SplineReference.rationalQuadratic(
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
