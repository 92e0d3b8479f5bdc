import Foundation
import KinoraReference
import KinoraTensor
import XCTest

final class EmbeddingTests: TensorTestCase {
    func testThreeAxisRotaryWithOffsetsMatchesComplexMultiplicationInBothPairStyles() throws {
        let (batch, frames, height, width, heads, dim) = (2, 2, 3, 5, 3, 36)
        let length = frames * height * width
        let splits = RotaryPositions.wanSplits(headDim: dim)
        XCTAssertEqual(splits, [12, 12, 12])
        let positions = RotaryPositions.grid(frames: frames, height: height, width: width, frameOffset: 7,
                                             heightOffset: 1, widthOffset: 2)
        XCTAssertEqual(positions.coordinates[length - 1], [8, 3, 6])
        let input = randomValues(batch * length * heads * dim)
        for interleaved in [true, false] {
            let graph = makeGraph()
            let table = try graph.rotaryTable(positions, headDim: dim, splits: splits, theta: 10000)
            XCTAssertEqual(table.cos.shape, [length, dim / 2])
            let x = try graph.input(input, shape: [batch, length, heads, dim])
            let y = try graph.applyRotary(x, cos: table.cos, sin: table.sin, interleaved: interleaved)
            let expected = LayoutReference.rotary(input, shape: [batch, length, heads, dim],
                                                  positions: positions.coordinates, splits: splits, theta: 10000,
                                                  interleaved: interleaved)
            assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-6, "interleaved \(interleaved)")
        }
    }

    func testOneAxisRotaryOnFlattenedHeadsMatchesReference() throws {
        let (batch, length, heads, dim) = (1, 7, 2, 130)
        let positions = RotaryPositions.sequence(count: length, offset: 33)
        let input = randomValues(batch * length * heads * dim)
        let graph = makeGraph()
        let table = try graph.rotaryTable(positions, headDim: dim, theta: 500_000)
        let x = try graph.input(input, shape: [batch, length, heads * dim])
        let y = try graph.applyRotary(x, cos: table.cos, sin: table.sin, heads: heads, interleaved: false)
        XCTAssertEqual(y.shape, [batch, length, heads * dim])
        let expected = LayoutReference.rotary(input, shape: [batch, length, heads, dim],
                                              positions: positions.coordinates, splits: [dim], theta: 500_000,
                                              interleaved: false)
        assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-6)
    }

    func testRotaryRejectsMismatchedTablesAndSplits() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(2 * 3 * 8), shape: [1, 2, 3, 8])
        let table = try graph.rotaryTable(.sequence(count: 3), headDim: 8)
        assertThrowsNaming("applyRotary") { _ = try graph.applyRotary(x, cos: table.cos, sin: table.sin,
                                                                      interleaved: true) }
        assertThrowsNaming("applyRotary") {
            _ = try graph.applyRotary(try graph.reshape(x, [1, 2, 24]), cos: table.cos, sin: table.sin, heads: 5,
                                      interleaved: true)
        }
        assertThrowsNaming("rotaryTable") { _ = try graph.rotaryTable(.sequence(count: 3), headDim: 8, splits: [4, 2]) }
        assertThrowsNaming("rotaryTable") {
            _ = try graph.rotaryTable(.sequence(count: 3), headDim: 8, splits: [4, 2, 2])
        }
    }

    func testTimestepEmbeddingMatchesTheDiffusersFormula() throws {
        let timesteps: [Float] = [0, 1, 17.5, 999, 500.25, 3]
        let cases: [(dim: Int, flip: Bool, shift: Float, scale: Float, period: Float)] = [
            (320, true, 0, 1, 10000), (33, false, 1, 1, 10000), (7, true, 1, 2.5, 1000), (1, false, 0, 1, 10000),
        ]
        for c in cases {
            let expected = LayoutReference.timestepEmbedding(timesteps, dim: c.dim, flipSinToCos: c.flip,
                                                             downscaleFreqShift: Double(c.shift),
                                                             scale: Double(c.scale), maxPeriod: Double(c.period))
            let graph = makeGraph()
            let device = try graph.timestepEmbedding(try graph.input(timesteps, shape: [timesteps.count]), dim: c.dim,
                                                     flipSinToCos: c.flip, downscaleFreqShift: c.shift,
                                                     scale: c.scale, maxPeriod: c.period)
            let host = try graph.timestepEmbedding(timesteps, dim: c.dim, flipSinToCos: c.flip,
                                                   downscaleFreqShift: c.shift, scale: c.scale, maxPeriod: c.period)
            XCTAssertEqual(device.shape, [timesteps.count, c.dim])
            let results = try graph.run([device, host])
            // fp32 arguments of up to ~2500 radians carry ~1e-4 absolute rounding, as in PyTorch.
            assertClose(try results[0].floats(), expected, tolerance: 1e-4, "device \(c)")
            assertClose(try results[1].floats(), expected, tolerance: 1e-4, "host \(c)")
            assertClose(try results[0].floats(), try results[1].floats().map(Double.init), tolerance: 2e-6,
                        "device vs host \(c)")
            if c.dim % 2 == 1 {
                let rows = try results[0].floats()
                XCTAssertTrue((0..<timesteps.count).allSatisfy { rows[$0 * c.dim + c.dim - 1] == 0 }, "padding")
            }
        }
    }

    func testTimestepEmbeddingRejectsBadShapes() throws {
        let graph = makeGraph()
        let t = try graph.input([1, 2, 3, 4], shape: [2, 2])
        assertThrowsNaming("timestepEmbedding") {
            _ = try graph.timestepEmbedding(t, dim: 8, flipSinToCos: true, downscaleFreqShift: 0)
        }
        assertThrowsNaming("timestepEmbedding") {
            _ = try graph.timestepEmbedding([1], dim: 0, flipSinToCos: true, downscaleFreqShift: 0)
        }
    }
}
