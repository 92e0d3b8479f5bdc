import KinoraKernelCheck
import KinoraReference
import KinoraTensor
import XCTest

/// 16-bit activations in the convolutions, resampling, layout and sequence ops: each stores its result in the graph's
/// activation type (f16 or bf16), reads 16-bit operands without a cast, and lands within the conformance floors of the
/// exact result on the same stored inputs; the ops that only move elements are bit-exact.
final class PrecisionSpatialTests: TensorTestCase {
    static let halfTypes = [DType.f16, .bf16]

    /// The relative L2 error that 16-bit storage alone costs an op (the conformance check's floor).
    func floor(_ dtype: DType) -> Double { ConformanceCase.halfToleranceFloor(dtype) }

    /// `count` random values rounded to `dtype`, so an input stored in `dtype` and the reference agree.
    func storedValues(_ count: Int, scale: Float = 1, _ dtype: DType) -> [Float] {
        randomValues(count, scale: scale).map { HostConversionMirror.rounded($0, to: dtype) }
    }

    // MARK: Convolutions

    /// A 3×3 padded convolution (Winograd computes it too) with a bias, a leaky ReLU and a scaled residual, on
    /// inputs stored in `dtype`; returns the result and the exact one.
    private func convolution(in graph: Graph, dtype: DType, weightType: DType = .f16) throws
        -> (result: Value, expected: [Double])
    {
        let (batch, inChannels, height, width, outChannels) = (2, 7, 9, 11, 10)
        let x = storedValues(batch * inChannels * height * width, dtype)
        let count = outChannels * inChannels * 9
        let weights = randomValues(count, scale: 0.5).map {
            weightType.isFloat8
                ? Float8Mirror.rounded($0, to: weightType) : HostConversionMirror.rounded($0, to: weightType)
        }
        let bias = randomValues(outChannels)
        let outShape = [batch, outChannels, height, width]
        let residual = storedValues(outShape.reduce(1, *), dtype)
        let slope: Float = 0.1, residualScale: Float = 0.5
        let epilogue = ConvEpilogue(activation: .leakyReLU(slope: slope),
                                    residual: try graph.input(residual, shape: outShape, dtype: dtype),
                                    outputScale: residualScale)
        let weight = try Tensor(weights, shape: [outChannels, inChannels, 3, 3], dtype: weightType, on: device)
        let y = try graph.conv2d(
            graph.input(x, shape: [batch, inChannels, height, width], dtype: dtype), weight: graph.input(weight),
            bias: graph.input(bias, shape: [outChannels]), padding: (1, 1), epilogue: epilogue)
        let exact = ConvReference.convolution(
            x, shape: [batch, inChannels, 1, height, width], weight: weights, outChannels: outChannels, bias: bias,
            geometry: .init(kernel: [1, 3, 3], padBefore: [0, 1, 1], padAfter: [0, 1, 1])).values
        let expected = exact.indices.map { index -> Double in
            let value = exact[index] < 0 ? exact[index] * Double(slope) : exact[index]
            return value * Double(residualScale) + Double(residual[index])
        }
        return (y, expected)
    }

    func testConvolutionsInEveryKernelStoreTheActivationTypeNearTheExactResult() throws {
        try eachConvolutionStrategy {
            for dtype in Self.halfTypes {
                let reference = makeGraph()
                _ = try convolution(in: reference, dtype: .f32)
                let graph = makeGraph()
                graph.activationDType = dtype
                let (y, expected) = try convolution(in: graph, dtype: dtype)
                XCTAssertEqual(y.dtype, dtype)
                XCTAssertEqual(graph.nodeCount, reference.nodeCount, "\(convolutionStrategy) \(dtype): no casts")
                let result = try graph.run([y])[0]
                XCTAssertEqual(result.dtype, dtype)
                assertClose(try result.floats(), expected, tolerance: floor(dtype), "\(convolutionStrategy) \(dtype)")
            }
        }
    }

    func testFloat8WeightsConvolveHalfActivationsInEveryKernel() throws {
        try eachConvolutionStrategy {
            for weightType in [DType.f8e4m3fn, .f8e5m2] {
                for dtype in Self.halfTypes {
                    let graph = makeGraph()
                    graph.activationDType = dtype
                    let (y, expected) = try convolution(in: graph, dtype: dtype, weightType: weightType)
                    let result = try graph.run([y])[0]
                    XCTAssertEqual(result.dtype, dtype)
                    assertClose(try result.floats(), expected, tolerance: floor(dtype),
                                "\(convolutionStrategy) \(weightType) weights, \(dtype) activations")
                }
            }
        }
    }

    func testConvolutionsOfOtherFormsStoreTheActivationType() throws {
        for dtype in Self.halfTypes {
            let graph = makeGraph()
            graph.activationDType = dtype
            let x1 = try graph.input(storedValues(2 * 4 * 17, dtype), shape: [2, 4, 17], dtype: dtype)
            let w1 = try graph.input(randomValues(6 * 4 * 3, scale: 0.5), shape: [6, 4, 3])
            let x3 = try graph.input(storedValues(3 * 4 * 5 * 6, dtype), shape: [1, 3, 4, 5, 6], dtype: dtype)
            let w3 = try graph.input(randomValues(2 * 3 * 27, scale: 0.5), shape: [2, 3, 3, 3, 3])
            let outputs = [
                try graph.conv1d(x1, weight: w1, stride: 2, padding: 1),
                try graph.convTranspose1d(x1, weight: graph.input(randomValues(4 * 3 * 5), shape: [4, 3, 5]),
                                          stride: 3),
                try graph.causalConv3d(x3, weight: w3, padding: (1, 1)),
            ]
            XCTAssertEqual(outputs.map(\.dtype), [dtype, dtype, dtype])
            XCTAssertEqual(try graph.run(outputs).map(\.dtype), [dtype, dtype, dtype])
        }
    }

    // MARK: Resampling

    func testResizeStoresTheActivationTypeNearTheExactResult() throws {
        for dtype in Self.halfTypes {
            for filter in [Graph.ResizeFilter.bilinear, .bicubic] {
                let x = storedValues(2 * 3 * 7 * 9, dtype)
                let graph = makeGraph()
                graph.activationDType = dtype
                let input = try graph.input(x, shape: [2, 3, 7, 9], dtype: dtype)
                let y = try graph.resize(input, height: 15, width: 8, filter: filter)
                XCTAssertEqual(graph.nodeCount, 1, "no casts")
                let result = try graph.run([y])[0]
                XCTAssertEqual([y.dtype, result.dtype], [dtype, dtype])
                let expected = ResizeReference.resample(
                    x, planes: 6, height: 7, width: 9, outHeight: 15, outWidth: 8, bicubic: filter == .bicubic,
                    alignCorners: false)
                assertClose(try result.floats(), expected, tolerance: floor(dtype), "\(filter) \(dtype)")
            }
        }
    }

    func testWarpStoresTheActivationTypeNearTheExactResult() throws {
        for dtype in Self.halfTypes {
            let shape = [2, 3, 13, 17]
            let image = storedValues(shape.reduce(1, *), dtype)
            let flow = storedValues(2 * 2 * 13 * 17, scale: 6, dtype)
            let graph = makeGraph()
            graph.activationDType = dtype
            let y = try graph.backwardWarp(graph.input(image, shape: shape, dtype: dtype),
                                           flow: graph.input(flow, shape: [2, 2, 13, 17], dtype: dtype))
            XCTAssertEqual(graph.nodeCount, 1, "no casts")
            let result = try graph.run([y])[0]
            XCTAssertEqual([y.dtype, result.dtype], [dtype, dtype])
            let expected = WarpReference.backwardWarp(image, shape: shape, flow: flow, flowChannels: 2, flowChannel: 0)
            assertClose(try result.floats(), expected, tolerance: floor(dtype), "\(dtype)")
        }
    }

    // MARK: Moves

    func testPadAndConcatAreExactIn16Bits() throws {
        for dtype in Self.halfTypes {
            let x = storedValues(3 * 5 * 7, dtype)
            for mode in Graph.PadMode.allCases {
                let graph = makeGraph()
                graph.activationDType = dtype
                let y = try graph.pad(graph.input(x, shape: [3, 5, 7], dtype: dtype), left: 3, right: 2, mode: mode)
                let result = try graph.run([y])[0]
                XCTAssertEqual([y.dtype, result.dtype], [dtype, dtype])
                XCTAssertEqual(try result.floats(),
                               LayoutReference.pad(x, length: 7, left: 3, right: 2, mode: mode).map(Float.init),
                               "\(mode) \(dtype)")
            }
            let pieces = [3, 7, 1].map { (storedValues(2 * $0 * 33, dtype), [2, $0, 33]) }
            let graph = makeGraph()
            graph.activationDType = dtype
            let y = try graph.concat(pieces.map { try graph.input($0.0, shape: $0.1, dtype: dtype) }, axis: 1)
            let result = try graph.run([y])[0]
            XCTAssertEqual([y.dtype, result.dtype], [dtype, dtype])
            XCTAssertEqual(try result.floats(), LayoutReference.concat(pieces, axis: 1).map(Float.init), "\(dtype)")
        }
    }

    func testConcatOfMixedTypesConvertsToTheActivationType() throws {
        for dtype in Self.halfTypes {
            let other: DType = dtype == .f16 ? .bf16 : .f16
            let wide = randomValues(2 * 3 * 5), narrow = storedValues(2 * 4 * 5, other)
            let graph = makeGraph()
            graph.activationDType = dtype
            let y = try graph.concat([graph.input(wide, shape: [2, 3, 5]),
                                      graph.input(narrow, shape: [2, 4, 5], dtype: other)], axis: 1)
            let result = try graph.run([y])[0]
            XCTAssertEqual([y.dtype, result.dtype], [dtype, dtype])
            let rounded = { (values: [Float]) in values.map { HostConversionMirror.rounded($0, to: dtype) } }
            let expected = LayoutReference.concat([(rounded(wide), [2, 3, 5]), (rounded(narrow), [2, 4, 5])], axis: 1)
            XCTAssertEqual(try result.floats(), expected.map(Float.init), "\(dtype)")
        }
    }

    func testPermuteSliceUpsampleAndFlipAreBitExactIn16Bits() throws {
        for dtype in Self.halfTypes {
            let shape = [3, 70, 5, 33]
            let x = storedValues(shape.reduce(1, *), dtype)
            let graph = makeGraph()
            graph.activationDType = dtype
            let input = try graph.input(x, shape: shape, dtype: dtype)
            let small = try graph.input(Array(x.prefix(2 * 3 * 7 * 9)), shape: [2, 3, 7, 9], dtype: dtype)
            let outputs = [
                try graph.permute(input, [0, 3, 1, 2]),  // the tiled transpose
                try graph.permute(input, [0, 2, 1, 3]),  // the strided gather
                try graph.slice(input, axis: 1, start: 3, length: 17),  // a copy: not contiguous
                try graph.upsampleNearest(small, factorH: 2, factorW: 3),
                try graph.flip(input, axis: 1),
            ]
            XCTAssertEqual(outputs.map(\.dtype), Array(repeating: dtype, count: outputs.count))
            let results = try graph.run(outputs)
            XCTAssertEqual(results.map(\.dtype), Array(repeating: dtype, count: outputs.count))
            let flipped = (0..<x.count).map { index -> Double in
                let inner = 5 * 33, position = index / inner % 70
                return Double(x[index + (69 - 2 * position) * inner])
            }
            let expected = [
                LayoutReference.permute(x, shape: shape, order: [0, 3, 1, 2]),
                LayoutReference.permute(x, shape: shape, order: [0, 2, 1, 3]),
                LayoutReference.slice(x, shape: shape, axis: 1, start: 3, length: 17),
                LayoutReference.upsample(Array(x.prefix(2 * 3 * 7 * 9)), shape: [2, 3, 7, 9], factorH: 2, factorW: 3),
                flipped,
            ]
            for (index, (result, reference)) in zip(results, expected).enumerated() {
                XCTAssertEqual(try result.floats().map(\.bitPattern), reference.map { Float($0).bitPattern },
                               "output \(index) \(dtype)")
            }
        }
    }

    func testWriteMovesOrConvertsASourceIntoATargetThatKeepsItsType() throws {
        for sourceType in [DType.f32, .f16, .bf16] {
            for targetType in [DType.f32, .f16, .bf16] {
                let initial = storedValues(2 * 6 * 5, targetType)
                let source = storedValues(2 * 2 * 5, sourceType)
                let target = try Tensor(initial, shape: [2, 6, 5], dtype: targetType, on: device)
                let graph = makeGraph()
                graph.activationDType = sourceType
                let stored = try graph.input(source, shape: [2, 2, 5], dtype: sourceType)
                try graph.write(stored, into: graph.input(target), axis: 1, start: 3)
                XCTAssertEqual(graph.nodeCount, 1, "\(sourceType) into \(targetType): one kernel, no cast")
                _ = try graph.run([try graph.scale(graph.input(target), by: 1)])
                XCTAssertEqual(target.dtype, targetType)
                var expected = initial
                for b in 0..<2 {
                    for row in 0..<2 {
                        for column in 0..<5 {
                            expected[(b * 6 + 3 + row) * 5 + column] =
                                HostConversionMirror.rounded(source[(b * 2 + row) * 5 + column], to: targetType)
                        }
                    }
                }
                XCTAssertEqual(try target.floats(), expected, "\(sourceType) into \(targetType)")
            }
        }
    }

    // MARK: Sequence ops and noise

    func testSplineStoresTheActivationTypeNearTheExactResult() throws {
        for dtype in Self.halfTypes {
            for inverse in [false, true] {
                let (count, bins, tailBound) = (3 * 37, 10, Float(5))
                let x = storedValues(count, scale: tailBound * 1.3, dtype)
                let widths = storedValues(count * bins, scale: 3, dtype)
                let heights = storedValues(count * bins, scale: 3, dtype)
                let derivatives = storedValues(count * (bins - 1), scale: 3, dtype)
                let graph = makeGraph()
                graph.activationDType = dtype
                let y = try graph.rationalQuadraticSpline(
                    graph.input(x, shape: [3, 37], dtype: dtype),
                    widths: graph.input(widths, shape: [3, 37, bins], dtype: dtype),
                    heights: graph.input(heights, shape: [3, 37, bins], dtype: dtype),
                    derivatives: graph.input(derivatives, shape: [3, 37, bins - 1], dtype: dtype),
                    tailBound: tailBound, inverse: inverse)
                XCTAssertEqual(graph.nodeCount, 1, "no casts")
                let result = try graph.run([y])[0]
                XCTAssertEqual([y.dtype, result.dtype], [dtype, dtype])
                let expected = (0..<count).map { i in
                    SplineReference.rationalQuadratic(
                        x[i], widths: widths[(i * bins)..<((i + 1) * bins)],
                        heights: heights[(i * bins)..<((i + 1) * bins)],
                        derivatives: derivatives[(i * (bins - 1))..<((i + 1) * (bins - 1))],
                        tailBound: Double(tailBound), inverse: inverse)
                }
                assertClose(try result.floats(), expected, tolerance: floor(dtype), "inverse \(inverse) \(dtype)")
            }
        }
    }

    func testLSTMOutputIsTheActivationTypeNearTheExactResult() throws {
        for dtype in Self.halfTypes {
            let (steps, batch, inputSize, hidden) = (13, 2, 5, 33)
            let x = randomValues(steps * batch * inputSize, scale: 2)
            let weightIH = randomValues(4 * hidden * inputSize, scale: 0.6)
            let weightHH = randomValues(4 * hidden * hidden, scale: 0.6)
                .map { HostConversionMirror.rounded($0, to: .f16) }
            let biasIH = randomValues(4 * hidden, scale: 0.5), biasHH = randomValues(4 * hidden, scale: 0.5)
            let graph = makeGraph()
            graph.activationDType = dtype
            let h = try graph.lstm(
                graph.input(x, shape: [steps, batch, inputSize]),
                weightIH: graph.input(weightIH, shape: [4 * hidden, inputSize]),
                weightHH: graph.input(weightHH, shape: [4 * hidden, hidden], dtype: .f16),
                biasIH: graph.input(biasIH, shape: [4 * hidden]), biasHH: graph.input(biasHH, shape: [4 * hidden]),
                projectionSteps: 4)
            let result = try graph.run([h])[0]
            XCTAssertEqual([h.dtype, result.dtype], [dtype, dtype])
            let expected = RecurrentReference.lstm(
                x, steps: steps, batch: batch, inputSize: inputSize, hidden: hidden, weightIH: weightIH,
                weightHH: weightHH, biasIH: biasIH, biasHH: biasHH)
            assertClose(try result.floats(), expected, tolerance: floor(dtype), "\(dtype)")
        }
    }

    func testNoiseIsDrawnInF32AndStoredInTheActivationType() throws {
        for dtype in Self.halfTypes {
            let graph = makeGraph()
            graph.activationDType = dtype
            let noise = try graph.randomNormal(shape: [37, 41], seed: 1234, offset: 7)
            let kept = try graph.withActivations(.f32) {
                try graph.randomNormal(shape: [37, 41], seed: 1234, offset: 7)
            }
            let results = try graph.run([noise, kept])
            XCTAssertEqual(results.map(\.dtype), [dtype, .f32])
            let host = PhiloxNormal.host(count: 37 * 41, seed: 1234, offset: 7)
            // Rounded once from the f32 draw: equal to the device's own f32 draw rounded on the host.
            XCTAssertEqual(try results[0].floats(),
                           try results[1].floats().map { HostConversionMirror.rounded($0, to: dtype) })
            assertClose(try results[0].floats(), host.map(Double.init), tolerance: floor(dtype), "\(dtype)")
        }
    }
}
