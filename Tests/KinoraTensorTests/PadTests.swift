import KinoraReference
import KinoraTensor
import XCTest

final class PadTests: TensorTestCase {
    func testPadMatchesPyTorchInEveryModeOnOddShapes() throws {
        for (shape, left, right) in [
            ([3, 5, 7], 3, 2), ([2, 9], 0, 4), ([13], 6, 6), ([1, 4, 2], 1, 0), ([5, 1], 0, 3),
        ] {
            let input = randomValues(shape.reduce(1, *))
            for mode in Graph.PadMode.allCases where mode != .reflect || max(left, right) < shape.last! {
                for dtype in [DType.f32, .bf16] {
                    let graph = makeGraph()
                    let padded = try graph.pad(
                        graph.input(input, shape: shape, dtype: dtype), left: left, right: right,
                        mode: mode)
                    XCTAssertEqual(padded.shape, Array(shape.dropLast()) + [shape.last! + left + right])
                    XCTAssertEqual(padded.dtype, dtype)
                    let stored = try graph.run([graph.input(input, shape: shape, dtype: dtype)])[0].floats()
                    let result = try graph.run([graph.cast(padded, to: .f32)])[0].floats()
                    let expected = LayoutReference.pad(stored, length: shape.last!, left: left, right: right, mode: mode)
                    assertClose(result, expected, tolerance: 0, "\(shape) \(left) \(right) \(mode) \(dtype)")
                }
            }
        }
    }

    func testReflectPaddingNeedsALongerAxis() throws {
        let graph = makeGraph()
        let x = try graph.input([1, 2, 3], shape: [1, 3])
        XCTAssertThrowsError(try graph.pad(x, left: 3, right: 0, mode: .reflect)) { error in
            XCTAssertTrue("\(error)".contains("reflect"), "\(error)")
        }
        XCTAssertNoThrow(try graph.pad(x, left: 2, right: 2, mode: .reflect))
        XCTAssertEqual(try graph.pad(x, left: 0, right: 0, mode: .reflect), x)
        XCTAssertThrowsError(try graph.pad(x, left: -1, right: 0))
    }
}
