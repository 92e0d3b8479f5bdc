import KinoraReference
import KinoraTensor
import XCTest

/// The backward warp against grid_sample's definition (bilinear, border padding, aligned corners) in double
/// precision.
final class WarpTests: TensorTestCase {
    func testWarpMatchesGridSampleWithBorderClampingForEitherFlowOfAFourChannelField() throws {
        let shape = [2, 3, 7, 9]
        let image = randomValues(shape.reduce(1, *))
        let flow = randomValues(2 * 4 * 7 * 9, scale: 5)
        for channel in [0, 2] {
            let graph = makeGraph()
            let y = try graph.backwardWarp(
                graph.input(image, shape: shape),
                flow: graph.input(flow, shape: [2, 4, 7, 9]), flowChannel: channel)
            XCTAssertEqual(y.shape, shape)
            assertClose(
                try graph.run([y])[0].floats(),
                WarpReference.backwardWarp(image, shape: shape, flow: flow, flowChannels: 4, flowChannel: channel),
                tolerance: 2e-6, "flow channel \(channel)")
        }
    }

    func testAWholePixelFlowShiftsTheImageAndRepeatsTheBorder() throws {
        let shape = [1, 1, 4, 5]
        let image = (0..<20).map(Float.init)
        // Every pixel reads one to its right: columns shift left and the last column repeats.
        let flow = [Float](repeating: 1, count: 20) + [Float](repeating: 0, count: 20)
        let graph = makeGraph()
        let y = try graph.backwardWarp(graph.input(image, shape: shape), flow: graph.input(flow, shape: [1, 2, 4, 5]))
        let result = try graph.run([y])[0].floats()
        let expected: [Float] = (0..<4).flatMap { row in [1, 2, 3, 4, 4].map { Float(row * 5) + $0 } }
        XCTAssertEqual(result.count, 20)
        for (a, b) in zip(result, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testWarpRejectsFlowsOfAnotherSizeNamingTheOp() throws {
        let graph = makeGraph()
        let image = try graph.input(randomValues(12), shape: [1, 1, 3, 4])
        let flow = try graph.input(randomValues(2 * 12), shape: [1, 2, 4, 3])
        assertThrowsNaming("backwardWarp") { _ = try graph.backwardWarp(image, flow: flow) }
        let narrow = try graph.input(randomValues(2 * 12), shape: [1, 2, 3, 4])
        assertThrowsNaming("backwardWarp") { _ = try graph.backwardWarp(image, flow: narrow, flowChannel: 1) }
    }
}
