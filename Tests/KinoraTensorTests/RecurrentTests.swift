import Foundation
import KinoraReference
import KinoraTensor
import XCTest

final class RecurrentTests: TensorTestCase {
    func testLSTMMatchesTheReferenceOnAwkwardSizes() throws {
        let cases: [(steps: Int, batch: Int, input: Int, hidden: Int, block: Int?)] = [
            (1, 1, 3, 7, nil), (5, 2, 9, 7, nil), (19, 1, 33, 33, nil), (19, 3, 5, 33, 4), (6, 1, 70, 70, 1),
            (11, 2, 16, 129, 5),
        ]
        for (steps, batch, inputSize, hidden, block) in cases {
            let x = randomValues(steps * batch * inputSize, scale: 2)
            let weightIH = randomValues(4 * hidden * inputSize, scale: 0.6)
            let weightHH = randomValues(4 * hidden * hidden, scale: 0.6)
            let biasIH = randomValues(4 * hidden, scale: 0.5)
            let biasHH = randomValues(4 * hidden, scale: 0.5)
            let graph = makeGraph()
            let h = try graph.lstm(
                graph.input(x, shape: [steps, batch, inputSize]),
                weightIH: graph.input(weightIH, shape: [4 * hidden, inputSize]),
                weightHH: graph.input(weightHH, shape: [4 * hidden, hidden]),
                biasIH: graph.input(biasIH, shape: [4 * hidden]), biasHH: graph.input(biasHH, shape: [4 * hidden]),
                projectionSteps: block)
            XCTAssertEqual(h.shape, [steps, batch, hidden])
            // One dispatch per step, and per block of projections a matmul (and a copy of an unaligned slice).
            let blocks = (steps + (block ?? steps) - 1) / (block ?? steps)
            XCTAssertTrue((steps + blocks...steps + 2 * blocks).contains(graph.nodeCount), "\(graph.nodeCount)")
            let expected = RecurrentReference.lstm(
                x, steps: steps, batch: batch, inputSize: inputSize, hidden: hidden, weightIH: weightIH,
                weightHH: weightHH, biasIH: biasIH, biasHH: biasHH)
            assertClose(try graph.run([h])[0].floats(), expected, tolerance: 1e-5, "T \(steps) N \(batch) H \(hidden)")
        }
    }

    /// 16-bit weights are read in their storage type; without biases the gates get none (`bias=False`).
    func testLSTMReadsHalfPrecisionWeightsAndRunsWithoutBiases() throws {
        let (steps, batch, inputSize, hidden) = (7, 2, 6, 9)
        let x = randomValues(steps * batch * inputSize)
        for dtype in [DType.f16, .bf16] {
            let graph = makeGraph()
            let weightIH = try graph.input(
                randomValues(4 * hidden * inputSize), shape: [4 * hidden, inputSize],
                dtype: dtype)
            let weightHH = try graph.input(
                randomValues(4 * hidden * hidden), shape: [4 * hidden, hidden], dtype: dtype)
            let h = try graph.lstm(
                graph.input(x, shape: [steps, batch, inputSize]), weightIH: weightIH,
                weightHH: weightHH, biasIH: nil, biasHH: nil)
            let tensors = try graph.run([h, graph.cast(weightIH, to: .f32), graph.cast(weightHH, to: .f32)])
            let expected = RecurrentReference.lstm(
                x, steps: steps, batch: batch, inputSize: inputSize, hidden: hidden,
                weightIH: try tensors[1].floats(), weightHH: try tensors[2].floats(), biasIH: nil, biasHH: nil)
            assertClose(try tensors[0].floats(), expected, tolerance: 1e-5, "\(dtype)")
        }
    }

    func testLSTMRejectsMismatchedWeights() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(12), shape: [2, 2, 3])
        let good = try graph.input(randomValues(4 * 5 * 3), shape: [20, 3])
        let recurrent = try graph.input(randomValues(4 * 5 * 5), shape: [20, 5])
        XCTAssertThrowsError(try graph.lstm(x, weightIH: good, weightHH: good, biasIH: nil, biasHH: nil))
        XCTAssertThrowsError(
            try graph.lstm(x, weightIH: recurrent, weightHH: recurrent, biasIH: nil, biasHH: nil))
        XCTAssertThrowsError(
            try graph.lstm(x, weightIH: good, weightHH: recurrent, biasIH: graph.input([1], shape: [1]), biasHH: nil))
        XCTAssertThrowsError(
            try graph.lstm(x, weightIH: good, weightHH: recurrent, biasIH: nil, biasHH: nil, projectionSteps: 0))
        XCTAssertNoThrow(try graph.lstm(x, weightIH: good, weightHH: recurrent, biasIH: nil, biasHH: nil))
    }
}
