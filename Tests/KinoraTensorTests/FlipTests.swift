import KinoraTensor
import XCTest

final class FlipTests: TensorTestCase {
    func testFlipReversesOneAxisOnOddShapes() throws {
        for (shape, axis) in [([3, 5, 7], 1), ([3, 5, 7], 0), ([3, 5, 7], -1), ([1, 193, 11], 1), ([9], 0)] {
            let input = randomValues(shape.reduce(1, *))
            for dtype in [DType.f32, .f16] {
                let graph = makeGraph()
                let flipped = try graph.flip(graph.input(input, shape: shape, dtype: dtype), axis: axis)
                XCTAssertEqual(flipped.dtype, dtype)
                let result = try graph.run([graph.cast(flipped, to: .f32)])[0]
                let resolved = axis < 0 ? axis + shape.count : axis
                let length = shape[resolved], inner = shape[(resolved + 1)...].reduce(1, *)
                let stored = dtype == .f32 ? input : try graph.run([graph.input(input, shape: shape, dtype: dtype)])[0]
                    .floats()
                let expected = (0..<input.count).map { i -> Double in
                    let position = (i / inner) % length
                    return Double(stored[i + (length - 1 - 2 * position) * inner])
                }
                assertClose(try result.floats(), expected, tolerance: 0, "\(shape) axis \(axis) \(dtype)")
            }
        }
    }

    func testFlipOfASingleEntryAxisIsTheInput() throws {
        let graph = makeGraph()
        let x = try graph.input([1, 2, 3], shape: [1, 3])
        XCTAssertEqual(try graph.flip(x, axis: 0), x)
        XCTAssertThrowsError(try graph.flip(x, axis: 2))
    }
}
