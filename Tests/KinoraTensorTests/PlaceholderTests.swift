import KinoraTensor
import XCTest

final class PlaceholderTests: TensorTestCase {
    /// The same ops over a placeholder and over a real input of its shape plan the same memory, views and casts
    /// included.
    func testPlaceholderPlansLikeARealInputOfItsShape() throws {
        func plan(_ source: (Graph) throws -> Value) throws -> MemoryPlan {
            let graph = makeGraph()
            let x = try source(graph)
            let rows = try graph.reshape(x, [40, 300])
            let top = try graph.slice(rows, axis: 0, start: 8, length: 16)
            let mixed = try graph.matmul(top, graph.transpose(rows, 0, 1))
            return try graph.memoryPlan([graph.add(graph.silu(mixed), graph.cast(mixed, to: .f16))])
        }
        let real = try plan { try $0.input(self.randomValues(12_000), shape: [4, 10, 300]) }
        let planned = try plan { try $0.placeholder(shape: [4, 10, 300]) }
        XCTAssertEqual(planned, real)
        XCTAssertGreaterThan(planned.activationBytes, 0)
        XCTAssertEqual(try makeGraph().placeholder(shape: [2, 3], dtype: .bf16).dtype, .bf16)
    }

    /// A placeholder larger than the device's largest buffer still plans.
    func testPlaceholderBeyondTheDeviceBufferLimitPlans() throws {
        let graph = makeGraph()
        let rows = Int(device.memory.maxBufferSize / 4 / 1024) + 1
        let x = try graph.placeholder(shape: [rows, 1024])
        let plan = try graph.memoryPlan([graph.scale(x, by: 2)])
        XCTAssertEqual(plan.outputBytes, UInt64(rows * 1024 * 4))
    }

    func testRunningAGraphThatReadsAPlaceholderThrows() throws {
        let graph = makeGraph()
        let x = try graph.placeholder(shape: [3, 5])
        let y = try graph.exp(x)
        XCTAssertThrowsError(try graph.run([y])) { error in
            XCTAssertEqual(
                error as? TensorError,
                .invalidArgument(
                    op: "exp", reason: "reads a placeholder, which has no storage: placeholders are for memoryPlan only"
                ))
        }
        assertThrowsNaming("placeholder") { _ = try graph.placeholder(shape: [3, 0]) }
        assertThrowsNaming("placeholder") { _ = try graph.placeholder(shape: []) }
    }
}
