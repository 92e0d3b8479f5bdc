import KinoraReference
import KinoraTensor
import XCTest

/// `Graph.channelRMSNorm` (Wan's `RMS_norm`: `F.normalize(x, dim=1) · scale · gamma + bias`) against a double
/// precision reference.
final class ChannelNormTests: TensorTestCase {
    func testChannelRMSNormMatchesReferenceOnOddShapesWithWeightsInEveryType() throws {
        let shapes: [[Int]] = [[1, 3, 5, 7, 9], [2, 16, 3, 11], [3, 1, 4], [1, 37, 130]]
        for dtype in DType.allCases {
            for shape in shapes {
                let channels = shape[1]
                let input = randomValues(shape.reduce(1, *), scale: 3)
                let weight = try Tensor(
                    randomValues(channels, scale: 2), shape: [channels, 1, 1, 1], dtype: dtype,
                    on: device)
                let bias = try Tensor(randomValues(channels), shape: [channels], dtype: dtype, on: device)
                let graph = makeGraph()
                let y = try graph.channelRMSNorm(
                    graph.input(input, shape: shape), weight: graph.input(weight),
                    bias: graph.input(bias))
                let result = try graph.run([y])[0]
                XCTAssertEqual(result.shape, shape)
                let expected = NormReference.channelRMSNorm(
                    input, shape: shape, weight: try weight.floats(), bias: try bias.floats(),
                    scale: Double(channels).squareRoot(), epsilon: 1e-12)
                assertClose(try result.floats(), expected, tolerance: 1e-6, "\(dtype) \(shape)")
            }
        }
    }

    /// Without affine parameters the result is x / rms(x) over the channels; a scale replaces √C; an all-zero
    /// position stays zero (the norm is clamped to epsilon, as `F.normalize` does) instead of becoming NaN.
    func testChannelRMSNormWithoutAffineWithAScaleAndOnZeroPositions() throws {
        let shape = [2, 6, 5]
        var input = randomValues(shape.reduce(1, *))
        for channel in 0..<6 { input[(6 + channel) * 5 + 2] = 0 }
        for scale: Float? in [nil, 0.5] {
            let graph = makeGraph()
            let y = try graph.channelRMSNorm(graph.input(input, shape: shape), weight: nil, scale: scale)
            let actual = try graph.run([y])[0].floats()
            let expectedScale: Double = scale.map { Double($0) } ?? 6.0.squareRoot()
            let expected = NormReference.channelRMSNorm(
                input, shape: shape, weight: nil, bias: nil, scale: expectedScale,
                epsilon: 1e-12)
            assertClose(actual, expected, tolerance: 1e-6, "scale \(String(describing: scale))")
            let zeroPosition: [Float] = (0..<6).map { channel in actual[(6 + channel) * 5 + 2] }
            XCTAssertEqual(zeroPosition, [Float](repeating: 0, count: 6))
        }
    }

    func testChannelRMSNormRejectsBadShapes() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(24), shape: [2, 4, 3])
        let wrong = try graph.input(randomValues(3), shape: [3])
        let rank1 = try graph.input(randomValues(4), shape: [4])
        for body in [
            { try graph.channelRMSNorm(x, weight: wrong) }, { try graph.channelRMSNorm(rank1, weight: nil) },
            { try graph.channelRMSNorm(x, weight: nil, epsilon: -1) },
        ] {
            XCTAssertThrowsError(try body()) { error in
                XCTAssertTrue("\(error)".hasPrefix("channelRMSNorm:"), "\(error)")
            }
        }
    }
}
