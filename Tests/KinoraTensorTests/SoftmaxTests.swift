import KinoraReference
import KinoraTensor
import XCTest

final class SoftmaxTests: TensorTestCase {
    func testSoftmaxOverTheLastAxisMatchesReferenceOnOddLengths() throws {
        try eachReductionStrategy {
            let shapes: [[Int]] = [[1], [7], [3, 33], [2, 130], [2, 3, 1000], [4, 1]]
            for shape in shapes {
                let input = randomValues(shape.reduce(1, *), scale: 5)
                let graph = makeGraph()
                let result = try graph.run([graph.softmax(graph.input(input, shape: shape))])[0]
                XCTAssertEqual(result.shape, shape)
                assertClose(try result.floats(), AttentionReference.softmax(input, shape: shape, axis: shape.count - 1),
                            tolerance: 1e-6, "\(shape) \(reductionStrategy)")
            }
        }
    }

    func testSoftmaxOverOtherAxesMatchesReference() throws {
        try eachReductionStrategy {
            let cases: [(shape: [Int], axis: Int)] = [([2, 7, 5], 1), ([2, 7, 5], 0), ([3, 33, 4], -2), ([130, 3], 0)]
            for (shape, axis) in cases {
                let input = randomValues(shape.reduce(1, *), scale: 5)
                let graph = makeGraph()
                let result = try graph.run([graph.softmax(graph.input(input, shape: shape), axis: axis)])[0]
                let resolved = axis < 0 ? axis + shape.count : axis
                assertClose(try result.floats(), AttentionReference.softmax(input, shape: shape, axis: resolved),
                            tolerance: 1e-6, "\(shape) axis \(axis) \(reductionStrategy)")
            }
        }
    }

    func testSoftmaxStaysFiniteAndExactOnLargeMagnitudeInputs() throws {
        try eachReductionStrategy {
            let shape = [5, 33]
            let input = randomValues(shape.reduce(1, *), scale: 1e4)
            let graph = makeGraph()
            let result = try graph.run([graph.softmax(graph.input(input, shape: shape))])[0].floats()
            XCTAssertTrue(result.allSatisfy(\.isFinite), "softmax of ±1e4 inputs produced non-finite values")
            assertClose(result, AttentionReference.softmax(input, shape: shape, axis: 1), tolerance: 1e-6,
                        "\(reductionStrategy)")
        }
    }

    func testSoftmaxGivesNegativeInfinityNoWeightAndAnAllNegativeInfinityRowZeros() throws {
        try eachReductionStrategy {
            var input = randomValues(3 * 9)
            for column in 0..<9 { input[9 + column] = -.infinity }
            input[2] = -.infinity
            input[20] = -.infinity
            let graph = makeGraph()
            let result = try graph.run([graph.softmax(graph.input(input, shape: [3, 9]))])[0].floats()
            XCTAssertEqual(Array(result[9..<18]), [Float](repeating: 0, count: 9))
            assertClose(result, AttentionReference.softmax(input, shape: [3, 9], axis: 1), tolerance: 1e-6,
                        "\(reductionStrategy)")
        }
    }

    func testSoftmaxRejectsAnAxisOutsideTheTensor() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(6), shape: [2, 3])
        XCTAssertThrowsError(try graph.softmax(x, axis: 2)) { error in
            XCTAssertEqual(error as? TensorError,
                           .invalidArgument(op: "softmax", reason: "axis 2 is outside a rank-2 tensor"))
        }
    }
}
