import KinoraReference
import KinoraTensor
import XCTest

/// The activations and scaled residual fused into the convolution's store, against the convolution reference
/// followed by the same arithmetic in double precision.
final class ConvEpilogueTests: TensorTestCase {
    enum Fused {
        case leaky(Float)
        case prelu
    }

    func checkEpilogue(
        _ fused: Fused?, residualScale: Float?, residualFirst: Bool = false, dtype: DType, inChannels: Int = 5,
        height: Int = 9,
        width: Int = 11, outChannels: Int = 37, kernel: Int = 3,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let label =
            "\(String(describing: fused)) residual \(String(describing: residualScale)) \(dtype) "
            + "cout \(outChannels) k \(kernel)"
        let xShape = [2, inChannels, height, width]
        let wShape = [outChannels, inChannels, kernel, kernel]
        let x = randomValues(xShape.reduce(1, *))
        let w = randomValues(wShape.reduce(1, *), scale: 0.5).map { HostConversionMirror.rounded($0, to: dtype) }
        let b = randomValues(outChannels).map { HostConversionMirror.rounded($0, to: dtype) }
        let slopes = randomValues(outChannels, scale: 0.4)
        let padding = kernel / 2
        let geometry = ConvReference.Geometry(
            kernel: [1, kernel, kernel], padBefore: [0, padding, padding],
            padAfter: [0, padding, padding])
        let reference = ConvReference.convolution(
            x, shape: [2, inChannels, 1, height, width], weight: w,
            outChannels: outChannels, bias: b, geometry: geometry)
        let outShape = [2, outChannels, height, width]
        let residual = randomValues(outShape.reduce(1, *))
        let plane = height * width
        var expected = reference.values
        for i in expected.indices {
            let channel = (i / plane) % outChannels
            var value = expected[i]
            if residualFirst, let residualScale { value = value * Double(residualScale) + Double(residual[i]) }
            switch fused {
            case .leaky(let slope): if value < 0 { value *= Double(slope) }
            case .prelu: if value < 0 { value *= Double(slopes[channel]) }
            case nil: break
            }
            if !residualFirst, let residualScale { value = value * Double(residualScale) + Double(residual[i]) }
            expected[i] = value
        }

        let graph = makeGraph()
        let activation: ConvEpilogue.Activation
        switch fused {
        case .leaky(let slope): activation = .leakyReLU(slope: slope)
        case .prelu: activation = .prelu(slopes: try graph.input(slopes, shape: [outChannels]))
        case nil: activation = .none
        }
        let epilogue = ConvEpilogue(
            activation: activation,
            residual: try residualScale.map { _ in try graph.input(residual, shape: outShape) },
            outputScale: residualScale ?? 1, residualBeforeActivation: residualFirst)
        let y = try graph.conv2d(
            graph.input(x, shape: xShape), weight: graph.input(w, shape: wShape, dtype: dtype),
            bias: graph.input(b, shape: [outChannels], dtype: dtype),
            padding: (padding, padding), epilogue: epilogue)
        XCTAssertEqual(y.shape, outShape, label, file: file, line: line)
        assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-5, label, file: file, line: line)
    }

    func testLeakyReLUAndPReLUFuseIntoEveryWeightType() throws {
        try eachConvolutionStrategy {
            for dtype in DType.allCases {
                try checkEpilogue(.leaky(0.2), residualScale: nil, dtype: dtype)
                try checkEpilogue(.prelu, residualScale: nil, dtype: dtype)
            }
            // The 1×1 (plain GEMM) path and a few-channel tile.
            try checkEpilogue(.prelu, residualScale: nil, dtype: .f16, outChannels: 3, kernel: 1)
            try checkEpilogue(.leaky(0.01), residualScale: nil, dtype: .f32, outChannels: 64, kernel: 1)
        }
    }

    func testScaledResidualAddsAfterTheActivation() throws {
        try eachConvolutionStrategy {
            try checkEpilogue(nil, residualScale: 0.2, dtype: .f16)
            try checkEpilogue(.leaky(0.2), residualScale: 0.2, dtype: .f32, outChannels: 32)
            try checkEpilogue(.prelu, residualScale: -1.5, dtype: .bf16, outChannels: 17, kernel: 1)
        }
    }

    func testResidualBeforeTheActivationAsRIFEResidualBlocksDo() throws {
        try eachConvolutionStrategy {
            try checkEpilogue(.leaky(0.2), residualScale: 1.5, residualFirst: true, dtype: .f32, outChannels: 16)
            try checkEpilogue(.prelu, residualScale: 0.5, residualFirst: true, dtype: .f16, outChannels: 40, kernel: 1)
        }
    }

    func testEpilogueOperandsOfTheWrongShapeAreRefused() throws {
        try eachConvolutionStrategy {
            let graph = makeGraph()
            let x = try graph.input(randomValues(3 * 4 * 4), shape: [1, 3, 4, 4])
            let w = try graph.input(randomValues(6 * 3 * 9), shape: [6, 3, 3, 3])
            let fewSlopes = try graph.input(randomValues(5), shape: [5])
            let wrongResidual = try graph.input(randomValues(6 * 16), shape: [1, 6, 4, 4])
            assertThrowsNaming("conv2d") {
                _ = try graph.conv2d(x, weight: w, epilogue: ConvEpilogue(activation: .prelu(slopes: fewSlopes)))
            }
            assertThrowsNaming("conv2d") {
                _ = try graph.conv2d(x, weight: w, epilogue: ConvEpilogue(residual: wrongResidual, outputScale: 0.2))
            }
            assertThrowsNaming("conv2d") {
                _ = try graph.conv2d(
                    x, weight: w, padding: (1, 1),
                    epilogue: ConvEpilogue(activation: .leakyReLU(slope: .nan)))
            }
        }
    }
}

