import KinoraReference
import XCTest

@testable import KinoraTensor

/// Bilinear and bicubic resampling and the pixel shuffle against CPU references written from ncnn's `Interp` and
/// PyTorch's definitions.
final class ResizeTests: TensorTestCase {
    func testBicubicAndBilinearMatchTheReferenceUpAndDownWithAndWithoutAlignedCorners() throws {
        let cases: [(h: Int, w: Int, oh: Int, ow: Int)] = [
            (7, 9, 14, 18), (12, 16, 6, 8), (8, 12, 6, 9),
            (5, 6, 13, 4), (1, 5, 3, 10), (6, 7, 6, 7),
        ]
        for c in cases {
            for filter in [Graph.ResizeFilter.bilinear, .bicubic] {
                for align in [false, true] {
                    let input = randomValues(2 * 3 * c.h * c.w)
                    let graph = makeGraph()
                    let y = try graph.resize(
                        graph.input(input, shape: [2, 3, c.h, c.w]), height: c.oh, width: c.ow,
                        filter: filter, alignCorners: align)
                    XCTAssertEqual(y.shape, [2, 3, c.oh, c.ow])
                    let expected = ResizeReference.resample(
                        input, planes: 6, height: c.h, width: c.w, outHeight: c.oh,
                        outWidth: c.ow, bicubic: filter == .bicubic, alignCorners: align)
                    assertClose(
                        try graph.run([y])[0].floats(), expected, tolerance: 2e-6,
                        "\(c) \(filter) align \(align)")
                }
            }
        }
    }

    func testAnExplicitScaleFactorOverridesTheSizeRatio() throws {
        // PyTorch with scale_factor = 0.5 on 7 pixels gives 3 pixels sampled at a ratio of 2, not 7/3.
        let input = randomValues(7 * 7)
        let graph = makeGraph()
        let y = try graph.resize(
            graph.input(input, shape: [1, 1, 7, 7]), height: 3, width: 3, filter: .bilinear,
            scale: (2, 2))
        let expected = ResizeReference.resample(
            input, planes: 1, height: 7, width: 7, outHeight: 3, outWidth: 3,
            bicubic: false, alignCorners: false, scale: (2, 2))
        assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-6)
    }

    func testWindowsOfAnImageResampleExactlyAsTheWholeImage() throws {
        // 16×20 → 12×15 bicubic (the x3 Real-ESRGAN's 0.75), cut into output tiles whose inputs carry a margin.
        let (h, w, oh, ow) = (16, 20, 12, 15)
        let input = randomValues(2 * h * w)
        let graph = makeGraph()
        let x = try graph.input(input, shape: [1, 2, h, w])
        let whole = try graph.resize(x, height: oh, width: ow, filter: .bicubic)
        var rows: [Value] = []
        for (top, height) in [(0, 6), (6, 6)] {
            var columns: [Value] = []
            for (left, width) in [(0, 3), (3, 9), (12, 3)] {
                // Source rows and columns this output window reads, with 2 pixels of margin, clipped to the image.
                let y0 = max(0, top * h / oh - 3)
                let y1 = min(h, (top + height) * h / oh + 3)
                let x0 = max(0, left * w / ow - 3)
                let x1 = min(w, (left + width) * w / ow + 3)
                let tile = try graph.slice(
                    graph.slice(x, axis: 2, start: y0, length: y1 - y0), axis: 3, start: x0,
                    length: x1 - x0)
                columns.append(
                    try graph.resize(
                        tile, height: height, width: width, filter: .bicubic,
                        scale: (
                            Double(h) / Double(oh),
                            Double(w) / Double(ow)
                        ),
                        window: Graph.ResizeWindow(
                            outputOrigin: (top, left), inputOrigin: (y0, x0),
                            sourceSize: (h, w))))
            }
            rows.append(try graph.concat(columns, axis: 3))
        }
        let tiled = try graph.concat(rows, axis: 2)
        let results = try graph.run([whole, tiled])
        XCTAssertEqual(try results[1].floats(), try results[0].floats())
    }

    func testPixelShuffleMovesChannelsIntoSpaceAsPyTorch() throws {
        for (shape, r) in [([2, 12, 3, 5], 2), ([1, 48, 2, 3], 4), ([1, 9, 1, 1], 3)] {
            for dtype in [DType.f32, .f16] {
                let input = randomValues(shape.reduce(1, *)).map { HostConversion.rounded($0, to: dtype) }
                let graph = makeGraph()
                let y = try graph.pixelShuffle(graph.input(input, shape: shape, dtype: dtype), factor: r)
                let (n, c, h, w) = (shape[0], shape[1] / (r * r), shape[2], shape[3])
                XCTAssertEqual(y.shape, [n, c, h * r, w * r])
                var expected = [Double](repeating: 0, count: input.count)
                for b in 0..<n {
                    for ch in 0..<c {
                        for yy in 0..<(h * r) {
                            for xx in 0..<(w * r) {
                                let channel: Int = (b * c + ch) * r * r + (yy % r) * r + xx % r
                                let source: Int = (channel * h + yy / r) * w + xx / r
                                expected[((b * c + ch) * h * r + yy) * w * r + xx] = Double(input[source])
                            }
                        }
                    }
                }
                assertClose(try graph.run([y])[0].floats(), expected, tolerance: 0, "\(shape) r \(r) \(dtype)")
            }
        }
    }

    func testResizeAndPixelShuffleRejectBadArgumentsNamingTheOp() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(2 * 3 * 4 * 4), shape: [2, 3, 4, 4])
        assertThrowsNaming("resize") { _ = try graph.resize(x, height: 0, width: 4, filter: .bilinear) }
        assertThrowsNaming("resize") {
            _ = try graph.resize(graph.reshape(x, [6, 4, 4]), height: 2, width: 2, filter: .bicubic)
        }
        assertThrowsNaming("resize") {
            _ = try graph.resize(
                x, height: 2, width: 2, filter: .bicubic,
                window: Graph.ResizeWindow(
                    outputOrigin: (0, 0), inputOrigin: (1, 0),
                    sourceSize: (4, 4)))
        }
        assertThrowsNaming("resize") {
            _ = try graph.resize(
                x, height: 2, width: 2, filter: .bilinear,
                scale: (.infinity, 1))
        }
        assertThrowsNaming("pixelShuffle") { _ = try graph.pixelShuffle(x, factor: 2) }
        assertThrowsNaming("pixelShuffle") { _ = try graph.pixelShuffle(x, factor: 0) }
    }
}
