import KinoraReference
import KinoraTensor
import XCTest

final class ConvTests: TensorTestCase {
    /// One 2-D convolution to compare against the reference.
    struct Conv2dCase {
        var batch = 1
        var inChannels: Int, height: Int, width: Int, outChannels: Int
        var kernel = (3, 3), stride = (1, 1), padding = (0, 0), dilation = (1, 1), groups = 1
        var bias = true
        var dtype = DType.f32
    }

    /// `count` random weights already rounded to `dtype`, so the reference sees what the GPU reads.
    func randomWeights(_ count: Int, as dtype: DType) -> [Float] {
        randomValues(count, scale: 0.5).map { HostConversionMirror.rounded($0, to: dtype) }
    }

    /// Runs `conv2d` on random data and checks it against the double-precision reference.
    func checkConv2d(_ c: Conv2dCase, file: StaticString = #filePath, line: UInt = #line) throws {
        let label = "\(c)"
        let xShape = [c.batch, c.inChannels, c.height, c.width]
        let wShape = [c.outChannels, c.inChannels / c.groups, c.kernel.0, c.kernel.1]
        let x = randomValues(xShape.reduce(1, *))
        let w = randomWeights(wShape.reduce(1, *), as: c.dtype)
        let b = c.bias ? randomValues(c.outChannels).map { HostConversionMirror.rounded($0, to: c.dtype) } : nil
        let graph = makeGraph()
        let y = try graph.conv2d(
            graph.input(x, shape: xShape), weight: graph.input(w, shape: wShape, dtype: c.dtype),
            bias: try b.map { try graph.input($0, shape: [c.outChannels], dtype: c.dtype) }, stride: c.stride,
            padding: c.padding, dilation: c.dilation, groups: c.groups)
        let geometry = ConvReference.Geometry(
            kernel: [1, c.kernel.0, c.kernel.1], stride: [1, c.stride.0, c.stride.1],
            dilation: [1, c.dilation.0, c.dilation.1], padBefore: [0, c.padding.0, c.padding.1],
            padAfter: [0, c.padding.0, c.padding.1], groups: c.groups)
        let expected = ConvReference.convolution(
            x, shape: [c.batch, c.inChannels, 1, c.height, c.width], weight: w,
            outChannels: c.outChannels, bias: b, geometry: geometry)
        let result = try graph.run([y])[0]
        XCTAssertEqual(
            result.shape, [expected.shape[0], expected.shape[1]] + expected.shape.suffix(2), label,
            file: file, line: line)
        assertClose(try result.floats(), expected.values, tolerance: 1e-5, label, file: file, line: line)
    }

    func testConv2d3x3And1x1PathsMatchReferenceForEveryWeightType() throws {
        try eachConvolutionStrategy {
            for dtype in DType.allCases {
                try checkConv2d(
                    Conv2dCase(
                        batch: 2, inChannels: 3, height: 13, width: 17, outChannels: 7,
                        padding: (1, 1), dtype: dtype))
                try checkConv2d(
                    Conv2dCase(
                        batch: 2, inChannels: 33, height: 5, width: 13, outChannels: 33,
                        kernel: (1, 1), bias: false, dtype: dtype))
            }
        }
    }

    func testConv2dMatchesReferenceWithStridePaddingAndDilation() throws {
        try eachConvolutionStrategy {
            try checkConv2d(
                Conv2dCase(
                    inChannels: 7, height: 17, width: 13, outChannels: 1, stride: (2, 2),
                    padding: (1, 1), dtype: .f16))
            try checkConv2d(
                Conv2dCase(
                    batch: 2, inChannels: 7, height: 13, width: 5, outChannels: 3, padding: (2, 2),
                    dilation: (2, 2), bias: false, dtype: .bf16))
            try checkConv2d(
                Conv2dCase(
                    inChannels: 3, height: 13, width: 5, outChannels: 7, kernel: (3, 1),
                    stride: (2, 1), padding: (1, 0)))
            try checkConv2d(
                Conv2dCase(
                    batch: 2, inChannels: 7, height: 13, width: 17, outChannels: 3, kernel: (1, 1),
                    stride: (2, 2)))
        }
    }

    func testConv2dHandlesSingleChannelAndSinglePixelInputs() throws {
        try eachConvolutionStrategy {
            try checkConv2d(Conv2dCase(inChannels: 1, height: 1, width: 1, outChannels: 1, padding: (1, 1)))
            try checkConv2d(Conv2dCase(batch: 2, inChannels: 1, height: 1, width: 1, outChannels: 3, kernel: (1, 1)))
            try checkConv2d(Conv2dCase(inChannels: 3, height: 5, width: 5, outChannels: 1, kernel: (5, 5)))
        }
    }

    func testConv2dSpanningSeveralTilesInEveryGemmDimensionMatchesReference() throws {
        try eachConvolutionStrategy {
            try checkConv2d(Conv2dCase(inChannels: 33, height: 9, width: 13, outChannels: 70, padding: (1, 1)))
            try checkConv2d(
                Conv2dCase(
                    batch: 2, inChannels: 130, height: 5, width: 13, outChannels: 33,
                    kernel: (1, 1), dtype: .f16))
        }
    }

    func testGroupedAndDepthwiseConv2dMatchReference() throws {
        try eachConvolutionStrategy {
            try checkConv2d(
                Conv2dCase(
                    batch: 2, inChannels: 14, height: 5, width: 7, outChannels: 6, padding: (1, 1),
                    groups: 2))
            try checkConv2d(
                Conv2dCase(
                    inChannels: 33, height: 13, width: 17, outChannels: 33, stride: (2, 2),
                    padding: (1, 1), groups: 33, dtype: .f16))
            try checkConv2d(
                Conv2dCase(
                    batch: 2, inChannels: 7, height: 5, width: 13, outChannels: 14, padding: (1, 1),
                    groups: 7, bias: false, dtype: .bf16))
            try checkConv2d(Conv2dCase(inChannels: 6, height: 5, width: 5, outChannels: 66, kernel: (1, 1), groups: 2))
        }
    }

    func testConv1dMatchesReference() throws {
        try eachConvolutionStrategy {
            let cases:
                [(
                    batch: Int, cin: Int, length: Int, cout: Int, k: Int, stride: Int, padding: Int, dilation: Int,
                    groups: Int, dtype: DType
                )] = [
                    (2, 3, 17, 7, 5, 2, 2, 2, 1, .f32), (1, 33, 13, 33, 1, 1, 0, 1, 1, .f16),
                    (2, 6, 130, 4, 7, 1, 3, 1, 2, .bf16), (1, 1, 1, 1, 1, 1, 0, 1, 1, .f32),
                ]
            for c in cases {
                let x = randomValues(c.batch * c.cin * c.length)
                let w = randomWeights(c.cout * c.cin / c.groups * c.k, as: c.dtype)
                let b = randomValues(c.cout).map { HostConversionMirror.rounded($0, to: c.dtype) }
                let graph = makeGraph()
                let y = try graph.conv1d(
                    graph.input(x, shape: [c.batch, c.cin, c.length]),
                    weight: graph.input(w, shape: [c.cout, c.cin / c.groups, c.k], dtype: c.dtype),
                    bias: graph.input(b, shape: [c.cout], dtype: c.dtype), stride: c.stride, padding: c.padding,
                    dilation: c.dilation, groups: c.groups)
                let expected = ConvReference.convolution(
                    x, shape: [c.batch, c.cin, 1, 1, c.length], weight: w, outChannels: c.cout, bias: b,
                    geometry: .init(
                        kernel: [1, 1, c.k], stride: [1, 1, c.stride], dilation: [1, 1, c.dilation],
                        padBefore: [0, 0, c.padding], padAfter: [0, 0, c.padding], groups: c.groups))
                let result = try graph.run([y])[0]
                XCTAssertEqual(result.shape, [c.batch, c.cout, expected.shape[4]], "\(c)")
                assertClose(try result.floats(), expected.values, tolerance: 1e-5, "\(c)")
            }
        }
    }

    func testConvTranspose1dMatchesScatterReferenceForStridesPaddingsAndGroups() throws {
        try eachConvolutionStrategy {
            let cases:
                [(
                    batch: Int, cin: Int, length: Int, outPerGroup: Int, k: Int, stride: Int, padding: Int,
                    outputPadding: Int, dilation: Int, groups: Int, bias: Bool, dtype: DType
                )] = [
                    (2, 3, 13, 7, 3, 1, 1, 0, 1, 1, true, .f32), (1, 7, 17, 5, 4, 2, 1, 1, 1, 1, false, .f16),
                    (2, 6, 5, 3, 5, 3, 2, 2, 1, 2, true, .bf16), (1, 16, 7, 8, 16, 8, 4, 0, 1, 1, true, .f32),
                    (1, 3, 5, 2, 2, 3, 0, 0, 1, 1, true, .f32), (2, 4, 9, 3, 3, 2, 1, 1, 2, 1, false, .f32),
                    (1, 33, 33, 33, 3, 1, 0, 0, 1, 1, true, .f16), (1, 1, 1, 1, 1, 1, 0, 0, 1, 1, true, .f32),
                ]
            for c in cases {
                let x = randomValues(c.batch * c.cin * c.length)
                let w = randomWeights(c.cin * c.outPerGroup * c.k, as: c.dtype)
                let outChannels = c.outPerGroup * c.groups
                let b = c.bias ? randomValues(outChannels).map { HostConversionMirror.rounded($0, to: c.dtype) } : nil
                let graph = makeGraph()
                let y = try graph.convTranspose1d(
                    graph.input(x, shape: [c.batch, c.cin, c.length]),
                    weight: graph.input(w, shape: [c.cin, c.outPerGroup, c.k], dtype: c.dtype),
                    bias: try b.map { try graph.input($0, shape: [outChannels], dtype: c.dtype) }, stride: c.stride,
                    padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups)
                let expected = ConvReference.convTranspose1d(
                    x, shape: [c.batch, c.cin, c.length], weight: w, kernel: c.k, outPerGroup: c.outPerGroup, bias: b,
                    stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation,
                    groups: c.groups)
                let result = try graph.run([y])[0]
                XCTAssertEqual(result.shape, expected.shape, "\(c)")
                assertClose(try result.floats(), expected.values, tolerance: 1e-5, "\(c)")
            }
        }
    }

    /// Runs `causalConv3d` on `x` [n, cin, t, h, w] and returns the result with the reference's values.
    func causalConv3d(
        _ x: [Float], shape: [Int], weight w: [Float], weightShape: [Int], bias: [Float]?,
        stride: (Int, Int, Int), padding: (Int, Int), dilation: (Int, Int, Int),
        dtype: DType
    ) throws -> (result: Tensor, expected: (values: [Double], shape: [Int])) {
        let graph = makeGraph()
        let y = try graph.causalConv3d(
            graph.input(x, shape: shape), weight: graph.input(w, shape: weightShape, dtype: dtype),
            bias: try bias.map { try graph.input($0, shape: [weightShape[0]], dtype: dtype) }, stride: stride,
            padding: padding, dilation: dilation)
        let frontPadding = (weightShape[2] - 1) * dilation.0
        let geometry = ConvReference.Geometry(
            kernel: Array(weightShape.suffix(3)), stride: [stride.0, stride.1, stride.2],
            dilation: [dilation.0, dilation.1, dilation.2], padBefore: [frontPadding, padding.0, padding.1],
            padAfter: [0, padding.0, padding.1])
        let expected = ConvReference.convolution(
            x, shape: shape, weight: w, outChannels: weightShape[0], bias: bias,
            geometry: geometry)
        return (try graph.run([y])[0], expected)
    }

    func testCausalConv3dMatchesFrontPaddedReference() throws {
        try eachConvolutionStrategy {
            let cases:
                [(
                    shape: [Int], weightShape: [Int], stride: (Int, Int, Int), padding: (Int, Int),
                    dilation: (Int, Int, Int), dtype: DType
                )] = [
                    ([2, 3, 5, 7, 9], [4, 3, 3, 3, 3], (1, 2, 2), (1, 1), (1, 1, 1), .f32),
                    ([1, 7, 6, 5, 5], [3, 7, 3, 3, 3], (2, 1, 1), (1, 1), (2, 1, 1), .f16),
                    ([1, 3, 4, 5, 5], [33, 3, 1, 1, 1], (1, 1, 1), (0, 0), (1, 1, 1), .bf16),
                ]
            for c in cases {
                let x = randomValues(c.shape.reduce(1, *))
                let w = randomWeights(c.weightShape.reduce(1, *), as: c.dtype)
                let b = randomValues(c.weightShape[0]).map { HostConversionMirror.rounded($0, to: c.dtype) }
                let (result, expected) = try causalConv3d(
                    x, shape: c.shape, weight: w, weightShape: c.weightShape,
                    bias: b, stride: c.stride, padding: c.padding,
                    dilation: c.dilation, dtype: c.dtype)
                XCTAssertEqual(result.shape, expected.shape, "\(c)")
                XCTAssertEqual(result.shape[2], (c.shape[2] - 1) / c.stride.0 + 1, "\(c)")
                assertClose(try result.floats(), expected.values, tolerance: 1e-5, "\(c)")
            }
        }
    }

    func testCausalConv3dOutputFramesDoNotDependOnLaterInputFrames() throws {
        try eachConvolutionStrategy {
            let shape = [1, 3, 5, 7, 9]
            let weightShape = [4, 3, 3, 3, 3]
            let frameSize = 7 * 9
            let x = randomValues(shape.reduce(1, *))
            let w = randomValues(weightShape.reduce(1, *), scale: 0.5)
            var perturbed = x
            for channel in 0..<3 {
                for index in 0..<frameSize { perturbed[(channel * 5 + 3) * frameSize + index] += 1 }
            }
            let run = { (input: [Float]) in
                try self.causalConv3d(
                    input, shape: shape, weight: w, weightShape: weightShape, bias: nil,
                    stride: (1, 2, 2), padding: (1, 1), dilation: (1, 1, 1), dtype: .f32
                ).result.floats()
            }
            let original = try run(x)
            let changed = try run(perturbed)
            let outFrame = 4 * 5
            for channel in 0..<4 {
                let base = channel * 5 * outFrame
                XCTAssertEqual(
                    original[base..<base + 3 * outFrame], changed[base..<base + 3 * outFrame],
                    "channel \(channel)")
                XCTAssertNotEqual(
                    original[base + 3 * outFrame..<base + 5 * outFrame],
                    changed[base + 3 * outFrame..<base + 5 * outFrame], "channel \(channel)")
            }
        }
    }

    /// `frontPadding` replaces the causal zeros: 0 runs the kernel over frames a caller has put in front itself
    /// (Wan's feature cache), with stride 1 and 2 in time, and 1 leaves one zero.
    func testCausalConv3dFrontPaddingReplacesTheCausalZeros() throws {
        let cases: [(shape: [Int], weightShape: [Int], stride: (Int, Int, Int), padding: (Int, Int), front: Int)] = [
            ([1, 5, 4, 6, 7], [3, 5, 3, 3, 3], (1, 1, 1), (1, 1), 0),
            ([2, 4, 5, 3, 5], [6, 4, 3, 1, 1], (2, 1, 1), (0, 0), 0),
            ([1, 3, 3, 5, 4], [2, 3, 3, 3, 3], (1, 1, 1), (1, 1), 1),
        ]
        for c in cases {
            let x = randomValues(c.shape.reduce(1, *))
            let w = randomWeights(c.weightShape.reduce(1, *), as: .f32)
            let b = randomValues(c.weightShape[0])
            let graph = makeGraph()
            let y = try graph.causalConv3d(
                graph.input(x, shape: c.shape), weight: graph.input(w, shape: c.weightShape),
                bias: graph.input(b, shape: [c.weightShape[0]]), stride: c.stride, padding: c.padding,
                frontPadding: c.front)
            let geometry = ConvReference.Geometry(
                kernel: Array(c.weightShape.suffix(3)), stride: [c.stride.0, c.stride.1, c.stride.2],
                dilation: [1, 1, 1], padBefore: [c.front, c.padding.0, c.padding.1],
                padAfter: [0, c.padding.0, c.padding.1])
            let expected = ConvReference.convolution(
                x, shape: c.shape, weight: w, outChannels: c.weightShape[0], bias: b, geometry: geometry)
            let result = try graph.run([y])[0]
            XCTAssertEqual(result.shape, expected.shape, "\(c)")
            XCTAssertEqual(result.shape[2], (c.shape[2] + c.front - 3) / c.stride.0 + 1, "\(c)")
            assertClose(try result.floats(), expected.values, tolerance: 1e-5, "\(c)")
        }
        let graph = makeGraph()
        let x = try graph.input(randomValues(2 * 3 * 4), shape: [1, 2, 3, 2, 2])
        let w = try graph.input(randomValues(2 * 2 * 3), shape: [2, 2, 3, 1, 1])
        assertThrowsNaming("causalConv3d", try graph.causalConv3d(x, weight: w, frontPadding: -1))
        let short = try graph.input(randomValues(2 * 4), shape: [1, 2, 1, 2, 2])
        assertThrowsNaming("causalConv3d", try graph.causalConv3d(short, weight: w, frontPadding: 1))
    }

    /// Asserts that `body` throws a `TensorError` whose message starts with `op`.
    func assertThrowsNaming(
        _ op: String, _ body: @autoclosure () throws -> Value, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is TensorError, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".hasPrefix("\(op):"), "\(error)", file: file, line: line)
        }
    }

    func testBadShapesThrowNamingTheOp() throws {
        try eachConvolutionStrategy {
            let graph = makeGraph()
            let x = try graph.input(randomValues(2 * 4 * 5 * 5), shape: [2, 4, 5, 5])
            let w3 = try graph.input(randomValues(6 * 3 * 3 * 3), shape: [6, 3, 3, 3])
            let w2 = try graph.input(randomValues(6 * 2 * 3 * 3), shape: [6, 2, 3, 3])
            let w7 = try graph.input(randomValues(6 * 4 * 7 * 7), shape: [6, 4, 7, 7])
            assertThrowsNaming("conv2d", try graph.conv2d(x, weight: w3, bias: nil))
            assertThrowsNaming("conv2d", try graph.conv2d(x, weight: w2, bias: nil, groups: 3))
            assertThrowsNaming("conv2d", try graph.conv2d(x, weight: w7, bias: nil, padding: (0, 0)))
            assertThrowsNaming("conv2d", try graph.conv2d(x, weight: w2, bias: nil, stride: (0, 1), groups: 2))
            assertThrowsNaming("conv2d", try graph.conv2d(x, weight: w2, bias: x, groups: 2))
            XCTAssertNoThrow(try graph.conv2d(x, weight: w7, bias: nil, padding: (1, 1)))

            let x1 = try graph.input(randomValues(2 * 4 * 5), shape: [2, 4, 5])
            let k1 = try graph.input(randomValues(6 * 4 * 7), shape: [6, 4, 7])
            assertThrowsNaming("conv1d", try graph.conv1d(x1, weight: k1, bias: nil))
            assertThrowsNaming("conv1d", try graph.conv1d(x, weight: w3, bias: nil))
            assertThrowsNaming("convTranspose1d", try graph.convTranspose1d(x1, weight: k1, bias: nil, stride: 0))
            assertThrowsNaming(
                "convTranspose1d",
                try graph.convTranspose1d(
                    x1, weight: k1, bias: nil, stride: 2,
                    outputPadding: 2))
            let g1 = try graph.input(randomValues(4 * 2 * 3), shape: [4, 2, 3])
            assertThrowsNaming(
                "convTranspose1d",
                try graph.convTranspose1d(
                    x1, weight: g1, bias: nil, stride: 1,
                    groups: 3))
            let t1 = try graph.input(randomValues(3 * 6 * 2), shape: [3, 6, 2])
            assertThrowsNaming("convTranspose1d", try graph.convTranspose1d(x1, weight: t1, bias: nil, stride: 1))

            let x3 = try graph.input(randomValues(4 * 3 * 3 * 3), shape: [1, 4, 3, 3, 3])
            let k3 = try graph.input(randomValues(2 * 4 * 3 * 5 * 5), shape: [2, 4, 3, 5, 5])
            assertThrowsNaming("causalConv3d", try graph.causalConv3d(x3, weight: k3, bias: nil))
            assertThrowsNaming("causalConv3d", try graph.causalConv3d(x, weight: w3, bias: nil))
            XCTAssertNoThrow(try graph.causalConv3d(x3, weight: k3, bias: nil, padding: (1, 1)))
        }
    }
}

