import KinoraReference
import KinoraTensor
import XCTest

/// Half-precision activations: an op with 16-bit kernels reads and writes the graph's activation type and computes
/// in fp32, so its 16-bit result is exactly its f32 result on the rounded inputs, rounded once more.
final class PrecisionTests: TensorTestCase {
    func testUnaryAndBinaryStoreTheActivationTypeAndRoundTheirF32ResultOnce() throws {
        for dtype in [DType.f16, .bf16] {
            let a = randomValues(2 * 3 * 130, scale: 3).map { HostConversionMirror.rounded($0, to: dtype) }
            let b = randomValues(7, scale: 3).map { HostConversionMirror.rounded($0, to: dtype) }

            let exact = makeGraph()
            let exactSum = try exact.add(exact.input(a, shape: [2, 3, 130]), exact.input(b, shape: [7, 1, 1, 1]))
            let exactSilu = try exact.silu(exact.input(a, shape: [2, 3, 130]))
            let expected = try exact.run([exactSum, exactSilu]).map { try $0.floats() }

            let half = makeGraph()
            half.activationDType = dtype
            let sum = try half.add(half.input(a, shape: [2, 3, 130]), half.input(b, shape: [7, 1, 1, 1]))
            let silu = try half.silu(half.input(a, shape: [2, 3, 130]))
            XCTAssertEqual([sum.dtype, silu.dtype], [dtype, dtype])
            let results = try half.run([sum, silu])
            XCTAssertEqual(results.map(\.dtype), [dtype, dtype])
            for (result, reference) in zip(results, expected) {
                let rounded = reference.map { HostConversionMirror.rounded($0, to: dtype) }
                XCTAssertEqual(try result.floats(), rounded, "\(dtype)")
            }
        }
    }

    func testAnInputAlreadyInTheActivationTypeIsReadWithoutACast() throws {
        let graph = makeGraph()
        graph.activationDType = .bf16
        let stored = try graph.input([1, 2, 3], shape: [3], dtype: .bf16)
        let before = graph.nodeCount
        _ = try graph.add(stored, stored)
        XCTAssertEqual(graph.nodeCount - before, 1, "only the add")
        _ = try graph.add(graph.input([1, 2, 3], shape: [3]), stored)
        XCTAssertEqual(graph.nodeCount - before, 3, "an f32 operand is cast first")
    }

    func testWithActivationsRestoresTheTypeItReplaced() throws {
        let graph = makeGraph()
        graph.activationDType = .f16
        let inner = try graph.withActivations(.f32) {
            try graph.scale(graph.input([1.5], shape: [1]), by: 2)
        }
        XCTAssertEqual(inner.dtype, .f32)
        XCTAssertEqual(graph.activationDType, .f16)
        XCTAssertEqual(try graph.scale(inner, by: 2).dtype, .f16)
    }
}
