import KinoraReference
import KinoraTensor
import XCTest

final class ReduceTests: TensorTestCase {
    private let kinds: [(Graph.Reduction, String)] = [(.sum, "sum"), (.mean, "mean"), (.maximum, "max"),
                                                      (.minimum, "min")]

    func testReductionsMatchReferenceOnEveryAxisOfOddShapesOfRanksOneToFive() throws {
        let shapes = [[1], [130], [7, 33], [1, 7, 1], [3, 130, 7], [2, 3, 1, 7, 5]]
        for shape in shapes {
            let input = randomValues(shape.reduce(1, *), scale: 3)
            let graph = makeGraph()
            let x = try graph.input(input, shape: shape)
            var outputs: [Value] = []
            var expected: [[Double]] = []
            var bounds: [[Double]?] = []
            var labels: [String] = []
            for axis in 0..<shape.count {
                for (reduction, name) in kinds {
                    outputs.append(try graph.reduce(reduction, x, axis: axis))
                    expected.append(LayoutReference.reduce(input, shape: shape, axis: axis, kind: name))
                    // A float32 sum of n terms is off by at most about n·ε·Σ|x| (a sum near zero has a large
                    // relative error however it is computed), so sums and means are held to that bound.
                    let magnitudes = LayoutReference.reduce(input.map(abs), shape: shape, axis: axis, kind: name)
                    bounds.append(name == "sum" || name == "mean"
                        ? magnitudes.map { Double(shape[axis]) * 1.2e-7 * $0 } : nil)
                    labels.append("\(name) over axis \(axis) of \(shape)")
                }
            }
            for (index, result) in try graph.run(outputs).enumerated() {
                let actual = try result.floats()
                guard let bound = bounds[index] else {
                    assertClose(actual, expected[index], tolerance: 1e-6, labels[index])
                    continue
                }
                XCTAssertEqual(actual.count, expected[index].count, labels[index])
                for (element, (value, reference)) in zip(actual, expected[index]).enumerated() {
                    XCTAssertLessThanOrEqual(abs(Double(value) - reference), bound[element] + 1e-12,
                                             "\(labels[index]) element \(element)")
                }
            }
        }
    }

    func testLongAxesReduceCooperativelyInsideAWorkgroup() throws {
        for shape in [[2, 5000], [4100, 3], [3, 1000, 33]] {
            let input = randomValues(shape.reduce(1, *))
            let graph = makeGraph()
            let x = try graph.input(input, shape: shape)
            let axis = shape.count == 3 ? 1 : (shape[0] > shape[1] ? 0 : 1)
            let results = try graph.run([graph.sum(x, axis: axis), graph.mean(x, axis: axis),
                                         graph.maximum(x, axis: axis), graph.minimum(x, axis: axis)])
            for ((_, name), result) in zip(kinds, results) {
                assertClose(try result.floats(), LayoutReference.reduce(input, shape: shape, axis: axis, kind: name),
                            tolerance: 1e-5, "\(name) \(shape)")
            }
        }
    }

    func testKeepDimsLeavesTheReducedAxisWithSizeOne() throws {
        let input = randomValues(2 * 7 * 3)
        let graph = makeGraph()
        let x = try graph.input(input, shape: [2, 7, 3])
        let kept = try graph.mean(x, axis: -2, keepDims: true)
        let dropped = try graph.mean(x, axis: 1)
        XCTAssertEqual(kept.shape, [2, 1, 3])
        XCTAssertEqual(dropped.shape, [2, 3])
        XCTAssertEqual(try graph.sum(try graph.input([1, 2, 3], shape: [3]), axis: 0).shape, [1])
        assertClose(try graph.run([kept])[0].floats(),
                    LayoutReference.reduce(input, shape: [2, 7, 3], axis: 1, kind: "mean"), tolerance: 1e-6)
    }

    func testReductionOverABadAxisThrowsNamingTheOp() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(6), shape: [2, 3])
        assertThrowsNaming("sum") { _ = try graph.sum(x, axis: 2) }
        assertThrowsNaming("maximum") { _ = try graph.maximum(x, axis: -3) }
    }
}
