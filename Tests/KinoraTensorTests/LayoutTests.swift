@testable import KinoraTensor
import KinoraReference
import XCTest

final class LayoutTests: TensorTestCase {
    /// All orders of `0..<n`.
    private func permutations(_ n: Int) -> [[Int]] {
        guard n > 1 else { return [Array(0..<n)] }
        return permutations(n - 1).flatMap { smaller in
            (0...smaller.count).map { position in
                var order = smaller
                order.insert(n - 1, at: position)
                return order
            }
        }
    }

    func testPermuteMatchesReferenceForEveryOrderOfARank4TensorWithOddSizes() throws {
        let shape = [3, 7, 5, 33]
        let input = randomValues(shape.reduce(1, *))
        let orders = permutations(4)
        XCTAssertEqual(orders.count, 24)
        let graph = makeGraph()
        let x = try graph.input(input, shape: shape)
        let outputs = try orders.map { try graph.permute(x, $0) }
        let results = try graph.run(outputs)
        for (order, result) in zip(orders, results) {
            XCTAssertEqual(result.shape, order.map { shape[$0] })
            assertClose(try result.floats(), LayoutReference.permute(input, shape: shape, order: order),
                        tolerance: 0, "order \(order)")
        }
    }

    func testPermuteCoversRanksOneToSixLargeTilesAndHalfPrecision() throws {
        let cases: [([Int], [Int])] = [([130], [0]), ([130, 67], [1, 0]), ([2, 3, 1, 5, 7], [4, 0, 3, 1, 2]),
                                       ([2, 3, 2, 3, 2, 5], [5, 3, 1, 0, 2, 4]), ([33, 1, 7], [2, 1, 0]),
                                       ([2, 33, 40], [0, 2, 1])]
        for dtype in [DType.f32, .f16, .bf16] {
            for (shape, order) in cases {
                let input = randomValues(shape.reduce(1, *)).map { HostConversion.rounded($0, to: dtype) }
                let graph = makeGraph()
                let y = try graph.permute(try graph.input(input, shape: shape, dtype: dtype), order)
                XCTAssertEqual(y.dtype, dtype, "permute keeps the storage type")
                assertClose(try graph.run([y])[0].floats(), LayoutReference.permute(input, shape: shape, order: order),
                            tolerance: 0, "\(dtype) \(shape) \(order)")
            }
        }
    }

    func testPermuteThatOnlyMovesUnitAxesIsAView() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(7 * 5), shape: [7, 1, 5, 1])
        let y = try graph.permute(x, [1, 0, 3, 2])
        XCTAssertEqual(y.shape, [1, 7, 1, 5])
        XCTAssertEqual(graph.nodeCount, 0)
    }

    func testTransposeSwapsTwoAxesCountingNegativeAxesFromTheEnd() throws {
        let shape = [2, 7, 33]
        let input = randomValues(shape.reduce(1, *))
        let graph = makeGraph()
        let x = try graph.input(input, shape: shape)
        let results = try graph.run([graph.transpose(x, -1, -2), graph.transpose(x, 0, 2)])
        assertClose(try results[0].floats(), LayoutReference.permute(input, shape: shape, order: [0, 2, 1]),
                    tolerance: 0)
        assertClose(try results[1].floats(), LayoutReference.permute(input, shape: shape, order: [2, 1, 0]),
                    tolerance: 0)
    }

    func testLeadingSliceIsAViewWhenItsOffsetIsAlignedAndACopyOtherwise() throws {
        let alignment = Int(device.physical.features.minStorageBufferOffsetAlignment)
        for (inner, expectView) in [(alignment / 4, true), (alignment / 4 + 1, false)] {
            for dtype in [DType.f32, .f16] {
                let rowElements = dtype == .f32 ? inner : inner * 2
                let shape = [5, rowElements]
                let input = randomValues(shape.reduce(1, *)).map { HostConversion.rounded($0, to: dtype) }
                let graph = makeGraph()
                let y = try graph.slice(try graph.input(input, shape: shape, dtype: dtype), axis: 0, start: 1,
                                        length: 3)
                XCTAssertEqual(graph.nodeCount, expectView ? 0 : 1, "row of \(rowElements) \(dtype)")
                XCTAssertEqual(y.dtype, dtype)
                assertClose(try graph.run([y])[0].floats(),
                            LayoutReference.slice(input, shape: shape, axis: 0, start: 1, length: 3), tolerance: 0)
            }
        }
    }

    func testSlicesOfInnerAxesCopyTheRightEntries() throws {
        let shape = [3, 7, 130]
        let input = randomValues(shape.reduce(1, *))
        for (axis, start, length) in [(1, 2, 4), (2, 5, 33), (-1, 129, 1), (0, 2, 1)] {
            let graph = makeGraph()
            let y = try graph.slice(try graph.input(input, shape: shape), axis: axis, start: start, length: length)
            let normalized = axis < 0 ? axis + 3 : axis
            assertClose(try graph.run([y])[0].floats(),
                        LayoutReference.slice(input, shape: shape, axis: normalized, start: start, length: length),
                        tolerance: 0, "axis \(axis)")
        }
    }

    func testSplitThenConcatRestoresTheInputOnEveryAxis() throws {
        let shape = [3, 7, 5, 2]
        let input = randomValues(shape.reduce(1, *))
        for axis in 0..<4 {
            let sizes = shape[axis] == 2 ? [1, 1] : [1, shape[axis] - 2, 1]
            let graph = makeGraph()
            let parts = try graph.split(try graph.input(input, shape: shape), sizes: sizes, axis: axis)
            XCTAssertEqual(parts.map { $0.shape[axis] }, sizes)
            let joined = try graph.concat(parts, axis: axis)
            let results = try graph.run(parts + [joined])
            var start = 0
            for (size, part) in zip(sizes, results) {
                assertClose(try part.floats(),
                            LayoutReference.slice(input, shape: shape, axis: axis, start: start, length: size),
                            tolerance: 0, "part at \(start) of axis \(axis)")
                start += size
            }
            XCTAssertEqual(results.last?.shape, shape)
            assertClose(try results[results.count - 1].floats(), input.map(Double.init), tolerance: 0, "axis \(axis)")
        }
    }

    func testConcatOfManyInputsAndOfMixedTypes() throws {
        let pieces: [([Float], [Int])] = (0..<9).map { i in
            let shape = [2, 1 + i % 3, 33]
            return (randomValues(shape.reduce(1, *)), shape)
        }
        let graph = makeGraph()
        let values = try pieces.map { try graph.input($0.0, shape: $0.1) }
        let joined = try graph.concat(values, axis: 1)
        XCTAssertEqual(joined.shape, [2, pieces.map { $0.1[1] }.reduce(0, +), 33])
        let bf16Piece = pieces[3].0.map { HostConversion.rounded($0, to: .bf16) }
        let bf16Value = try graph.input(bf16Piece, shape: pieces[3].1, dtype: .bf16)
        let mixed = try graph.concat([values[0], bf16Value], axis: -1)
        XCTAssertEqual(mixed.dtype, .f32)
        let results = try graph.run([joined, mixed])
        assertClose(try results[0].floats(), LayoutReference.concat(pieces, axis: 1), tolerance: 0)
        assertClose(try results[1].floats(), LayoutReference.concat([pieces[0], (bf16Piece, pieces[3].1)], axis: 2),
                    tolerance: 0)
    }

    func testUpsampleNearestRepeatsEachPixel() throws {
        for (shape, factors) in [([1, 3, 7, 5], (2, 2)), ([2, 1, 1, 33], (3, 1)), ([1, 2, 4, 4], (1, 2))] {
            for dtype in [DType.f32, .f16] {
                let input = randomValues(shape.reduce(1, *)).map { HostConversion.rounded($0, to: dtype) }
                let graph = makeGraph()
                let x = try graph.input(input, shape: shape, dtype: dtype)
                let y = factors == (2, 2) ? try graph.upsampleNearest2x(x)
                    : try graph.upsampleNearest(x, factorH: factors.0, factorW: factors.1)
                XCTAssertEqual(y.shape, [shape[0], shape[1], shape[2] * factors.0, shape[3] * factors.1])
                XCTAssertEqual(y.dtype, dtype)
                assertClose(try graph.run([y])[0].floats(),
                            LayoutReference.upsample(input, shape: shape, factorH: factors.0, factorW: factors.1),
                            tolerance: 0, "\(shape) \(factors)")
            }
        }
    }

    func testLayoutOpsRejectBadAxesAndShapesNamingTheOp() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(2 * 3 * 4), shape: [2, 3, 4])
        let y = try graph.input(randomValues(2 * 5), shape: [2, 5])
        assertThrowsNaming("permute") { _ = try graph.permute(x, [0, 0, 1]) }
        assertThrowsNaming("permute") { _ = try graph.permute(x, [0, 1]) }
        assertThrowsNaming("permute") {
            let rank7 = try graph.input(randomValues(128), shape: [2, 2, 2, 2, 2, 2, 2])
            _ = try graph.permute(rank7, [6, 5, 4, 3, 2, 1, 0])
        }
        assertThrowsNaming("transpose") { _ = try graph.transpose(x, 0, 3) }
        assertThrowsNaming("slice") { _ = try graph.slice(x, axis: 1, start: 2, length: 2) }
        assertThrowsNaming("slice") { _ = try graph.slice(x, axis: -4, start: 0, length: 1) }
        assertThrowsNaming("split") { _ = try graph.split(x, sizes: [1, 1], axis: 1) }
        assertThrowsNaming("concat") { _ = try graph.concat([x, y], axis: 1) }
        assertThrowsNaming("concat") { _ = try graph.concat([], axis: 0) }
        assertThrowsNaming("upsampleNearest") { _ = try graph.upsampleNearest2x(x) }
    }
}
