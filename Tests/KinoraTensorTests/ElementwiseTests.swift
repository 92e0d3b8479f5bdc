import Foundation
import KinoraReference
@testable import KinoraTensor
import XCTest

final class ElementwiseTests: TensorTestCase {
    func testEveryUnaryFunctionMatchesTheReferenceOnOddSizes() throws {
        for function in Graph.UnaryFunction.allCases {
            for count in [1, 7, 130] {
                let positiveOnly: Set<Graph.UnaryFunction> = [.sqrt, .log, .reciprocal]
                let input = randomValues(count, scale: 4).map { positiveOnly.contains(function) ? Swift.abs($0) + 0.2 : $0 }
                let graph = makeGraph()
                let x = try graph.input(input, shape: [count])
                let y = try graph.unary(function, x, alpha: 1.5, beta: -0.25)
                let result = try graph.run([y])[0].floats()
                let expected = input.map { ElementwiseReference.unary(function, Double($0) * 1.5 - 0.25) }
                assertClose(result, expected, tolerance: 2e-6, "\(function) n=\(count)")
            }
        }
    }

    /// ELU's negative side is exp(x) − 1, which loses its digits to cancellation near 0 unless computed as expm1.
    func testEluKeepsItsRelativePrecisionNearZero() throws {
        let input: [Float] = [-1e-6, -3e-4, -0.01, -0.2, -0.49, -0.51, -3, -30, 0, 1e-3, 2.5]
        let graph = makeGraph()
        let result = try graph.run([graph.elu(graph.input(input, shape: [input.count]))])[0].floats()
        for (x, y) in zip(input, result) {
            let expected = x > 0 ? Double(x) : Foundation.expm1(Double(x))
            XCTAssertLessThanOrEqual(Swift.abs(Double(y) - expected), 2e-7 * Swift.abs(expected), "elu(\(x)) = \(y)")
        }
    }

    func testBinaryOpsBroadcastLikeNumPy() throws {
        // Each keeps a different number of axes once merged (`broadcastPlan`), from none to six.
        let cases: [([Int], [Int])] = [([7], [7]), ([3, 33], [33]), ([2, 1, 5], [4, 1]), ([1], [2, 3, 130]),
                                       ([2, 3, 1, 7], [2, 1, 4, 1]), ([1, 1], [1]), ([2, 5, 3, 4], [1, 5, 1, 1]),
                                       ([2, 1, 3, 1, 2, 1], [1, 3, 1, 2, 1, 2])]
        for (shapeA, shapeB) in cases {
            for function in Graph.BinaryFunction.allCases {
                let a = randomValues(shapeA.reduce(1, *))
                let b = randomValues(shapeB.reduce(1, *)).map { function == .divide ? $0 + 2.5 : $0 }
                let graph = makeGraph()
                let result = try graph.run([graph.binary(function, graph.input(a, shape: shapeA),
                                                         graph.input(b, shape: shapeB))])[0]
                XCTAssertEqual(result.shape, ElementwiseReference.broadcastShape(shapeA, shapeB))
                let expected = ElementwiseReference.binary(function, a, shape: shapeA, b, shape: shapeB)
                assertClose(try result.floats(), expected, tolerance: 1e-6, "\(function) \(shapeA) \(shapeB)")
            }
        }
    }

    func testBroadcastPlansMergeTheAxesBothOperandsStepThroughAsOne() {
        func plan(_ a: [Int], _ b: [Int]) -> Graph.BroadcastPlan {
            let dims = zip(a, b).map { max($0, $1) }
            return Graph.broadcastPlan(dims: dims, a: Graph.broadcastStrides(a), b: Graph.broadcastStrides(b))
        }
        XCTAssertEqual(plan([2, 3, 4], [2, 3, 4]), .init(dims: [24], a: [1], b: [1]), "same shape: one axis")
        XCTAssertEqual(plan([1, 1, 1], [1, 1, 1]), .init(dims: [1], a: [0], b: [0]), "one element")
        XCTAssertEqual(plan([4, 3, 5], [1, 1, 1]), .init(dims: [60], a: [1], b: [0]), "a scalar")
        XCTAssertEqual(plan([2, 8, 3, 3], [1, 8, 1, 1]), .init(dims: [2, 8, 9], a: [72, 9, 1], b: [0, 1, 0]),
                       "a per-channel bias")
        XCTAssertEqual(plan([1, 8, 3, 3], [1, 8, 1, 1]), .init(dims: [8, 9], a: [9, 1], b: [1, 0]),
                       "size-1 axes dropped")
        XCTAssertEqual(plan([2, 1, 5], [2, 4, 1]), .init(dims: [2, 4, 5], a: [5, 0, 1], b: [4, 1, 0]),
                       "nothing to merge")
        XCTAssertEqual(plan([6, 7, 1], [6, 7, 1]), .init(dims: [42], a: [1], b: [1]))
    }

    func testIncompatibleBroadcastThrowsNamingTheOpAndShapes() throws {
        let graph = makeGraph()
        let a = try graph.input(randomValues(6), shape: [2, 3])
        let b = try graph.input(randomValues(4), shape: [4])
        XCTAssertThrowsError(try graph.add(a, b)) { error in
            XCTAssertTrue("\(error)".contains("add"), "\(error)")
            XCTAssertTrue("\(error)".contains("[2, 3]") && "\(error)".contains("[4]"), "\(error)")
        }
    }

    func testCastRoundsToHalfAndBFloat16AndBack() throws {
        let input = randomValues(1031, scale: 300) + [65504, -0.0, 1e-8, 3.0e38]
        for dtype in [DType.f16, .bf16] {
            let graph = makeGraph()
            let x = try graph.input(input, shape: [input.count])
            let narrowed = try graph.cast(x, to: dtype)
            let widened = try graph.cast(narrowed, to: .f32)
            let result = try graph.run([widened])[0].floats()
            for (index, value) in input.enumerated() where dtype == .bf16 || Swift.abs(value) <= 65504 {
                XCTAssertEqual(result[index], HostConversionMirror.rounded(value, to: dtype),
                               "\(dtype) element \(index) = \(value)")
            }
        }
    }

    func testHalfPrecisionInputsAreWidenedBeforeArithmetic() throws {
        let a = randomValues(33), b = randomValues(33)
        let graph = makeGraph()
        let x = try graph.input(a, shape: [33], dtype: .f16)
        let y = try graph.input(b, shape: [33], dtype: .bf16)
        let result = try graph.run([graph.multiply(x, y)])[0].floats()
        let expected = zip(a, b).map {
            Double(HostConversionMirror.rounded($0, to: .f16)) * Double(HostConversionMirror.rounded($1, to: .bf16))
        }
        assertClose(result, expected, tolerance: 1e-7)
    }
}

