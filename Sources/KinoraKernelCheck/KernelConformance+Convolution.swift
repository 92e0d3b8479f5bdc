import KinoraGPU
import KinoraReference
import KinoraTensor

/// Convolutions: the shared-memory implicit GEMM, the direct kernel and Winograd F(4×4, 3×3), in 1-D, 2-D and causal
/// 3-D, strided, dilated, grouped and depthwise, transposed, and with a fused PReLU and residual; the tensor-core
/// implicit GEMM on the same problems where the device has `VK_KHR_cooperative_matrix`.
extension KernelConformance {
    static let convolutionTolerance = 1e-5

    /// One 2-D convolution's geometry.
    struct Conv2d {
        var batch = 1
        var inChannels: Int
        var height: Int
        var width: Int
        var outChannels: Int
        var kernel = 3
        var stride = 1
        var padding = 0
        var dilation = 1
        var groups = 1
        var bias = true
        var dtype = DType.f16

        var label: String {
            "\(batch)x\(inChannels)x\(height)x\(width)->\(outChannels) k\(kernel)"
                + (stride > 1 ? " s\(stride)" : "") + (padding > 0 ? " p\(padding)" : "")
                + (dilation > 1 ? " d\(dilation)" : "") + (groups > 1 ? " g\(groups)" : "") + " \(dtype.rawValue)"
        }
    }

    static func convolutionCases(for device: GPUDevice) -> [ConformanceCase] {
        let shapes = convolutionShapes
        var cases: [ConformanceCase] = []
        for (strategy, label) in [(ConvolutionStrategy.sharedMemory, "shared-memory"), (.direct, "direct"),
                                  (.winograd, "winograd")] {
            // Winograd computes 3×3, stride 1, one group; the rest would repeat the automatic kernel.
            for shape in shapes where strategy != .winograd || (shape.kernel == 3 && shape.stride == 1
                                                               && shape.groups == 1 && shape.dilation == 1) {
                cases.append(conv2d(shape, strategy: strategy, variant: label))
            }
            guard strategy != .winograd else { continue }
            cases.append(conv1d(strategy: strategy, variant: label))
            cases.append(causalConv3d(strategy: strategy, variant: label))
            cases.append(convTranspose1d(strategy: strategy, variant: label))
        }
        cases.append(conv2d(Conv2d(batch: 2, inChannels: 33, height: 13, width: 17, outChannels: 70, padding: 1),
                            strategy: .fastest, variant: "fastest"))
        // What models run: tensor cores once their self-check passed on this device, else the scalar kernels.
        cases.append(fusedEpilogue(strategy: .automatic, variant: nil,
                                   tolerance: device.automaticTensorCores ? tensorCoreTolerance
                                       : convolutionTolerance))
        return cases + cooperativeConvolutionCases(for: device)
    }

    /// 2-D convolutions with several tiles of output channels and positions, none full; strided, dilated, grouped
    /// and depthwise; weights in f16, bf16, f32 and float8.
    static let convolutionShapes = [
        // Several tiles of output channels and positions, none full.
        Conv2d(batch: 2, inChannels: 33, height: 13, width: 17, outChannels: 70, padding: 1),
        Conv2d(batch: 2, inChannels: 33, height: 5, width: 13, outChannels: 33, kernel: 1, bias: false,
               dtype: .bf16),
        Conv2d(inChannels: 7, height: 17, width: 13, outChannels: 3, stride: 2, padding: 1, dtype: .f32),
        Conv2d(batch: 2, inChannels: 7, height: 13, width: 5, outChannels: 3, padding: 2, dilation: 2,
               dtype: .f8e4m3fn),
        Conv2d(batch: 2, inChannels: 14, height: 5, width: 7, outChannels: 6, padding: 1, groups: 2),
        Conv2d(inChannels: 33, height: 13, width: 17, outChannels: 33, stride: 2, padding: 1, groups: 33),
    ]

    /// The tensor-core kernel on every problem the scalar ones check, plus f8e5m2 weights and a 1×1 convolution
    /// that takes its pointwise mode. Its operand tiles are f16 (inputs and f32 weights rounded before the
    /// products, which accumulate in f32), so it takes the tensor cores' tolerance rather than the f32 kernels'.
    static func cooperativeConvolutionCases(for device: GPUDevice) -> [ConformanceCase] {
        let (strategy, variant, tolerance) = (ConvolutionStrategy.cooperativeMatrix, "cooperative-matrix",
                                              tensorCoreTolerance)
        let shapes = convolutionShapes + [
            Conv2d(inChannels: 20, height: 9, width: 9, outChannels: 70, padding: 1, dtype: .f8e5m2),
            Conv2d(batch: 2, inChannels: 70, height: 3, width: 11, outChannels: 65, kernel: 1, dtype: .f32),
        ]
        var cases = shapes.map { conv2d($0, strategy: strategy, variant: variant, tolerance: tolerance) }
        cases.append(conv1d(strategy: strategy, variant: variant, tolerance: tolerance))
        cases.append(causalConv3d(strategy: strategy, variant: variant, tolerance: tolerance))
        cases.append(convTranspose1d(strategy: strategy, variant: variant, tolerance: tolerance))
        cases.append(fusedEpilogue(strategy: strategy, variant: variant, tolerance: tolerance))
        let skip = device.physical.features.cooperativeMatrix ? nil : "no VK_KHR_cooperative_matrix on this device"
        return cases.map { conformanceCase in
            var tensorCore = conformanceCase
            tensorCore.skipReason = skip
            return tensorCore
        }
    }

    static func conv2d(_ c: Conv2d, strategy: ConvolutionStrategy, variant: String,
                       tolerance: Double = convolutionTolerance) -> ConformanceCase {
        ConformanceCase(name: "conv2d \(variant) \(c.label)", tolerance: tolerance) { context in
            let xShape = [c.batch, c.inChannels, c.height, c.width]
            let wShape = [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]
            let x = context.values(xShape.reduce(1, *))
            let w = context.values(wShape.reduce(1, *), scale: 0.5, roundedTo: c.dtype)
            let b = c.bias ? context.values(c.outChannels, roundedTo: c.dtype) : nil
            let graph = context.graph(convolution: strategy)
            let y = try graph.conv2d(
                graph.input(x, shape: xShape), weight: graph.input(w, shape: wShape, dtype: c.dtype),
                bias: try b.map { try graph.input($0, shape: [c.outChannels], dtype: c.dtype) },
                stride: (c.stride, c.stride), padding: (c.padding, c.padding), dilation: (c.dilation, c.dilation),
                groups: c.groups)
            let geometry = ConvReference.Geometry(
                kernel: [1, c.kernel, c.kernel], stride: [1, c.stride, c.stride],
                dilation: [1, c.dilation, c.dilation], padBefore: [0, c.padding, c.padding],
                padAfter: [0, c.padding, c.padding], groups: c.groups)
            let expected = ConvReference.convolution(
                x, shape: [c.batch, c.inChannels, 1, c.height, c.width], weight: w, outChannels: c.outChannels,
                bias: b, geometry: geometry)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected.values)
        }
    }

    static func conv1d(strategy: ConvolutionStrategy, variant: String,
                       tolerance: Double = convolutionTolerance) -> ConformanceCase {
        let (batch, inChannels, length, outChannels, kernel, stride, padding, dilation, groups) =
            (2, 6, 130, 4, 7, 2, 3, 2, 2)
        return ConformanceCase(name: "conv1d \(variant) 2x6x130->4 k7 s2 p3 d2 g2 bf16",
                               tolerance: tolerance) { context in
            let x = context.values(batch * inChannels * length)
            let w = context.values(outChannels * inChannels / groups * kernel, scale: 0.5, roundedTo: .bf16)
            let b = context.values(outChannels, roundedTo: .bf16)
            let graph = context.graph(convolution: strategy)
            let y = try graph.conv1d(
                graph.input(x, shape: [batch, inChannels, length]),
                weight: graph.input(w, shape: [outChannels, inChannels / groups, kernel], dtype: .bf16),
                bias: graph.input(b, shape: [outChannels], dtype: .bf16), stride: stride, padding: padding,
                dilation: dilation, groups: groups)
            let expected = ConvReference.convolution(
                x, shape: [batch, inChannels, 1, 1, length], weight: w, outChannels: outChannels, bias: b,
                geometry: .init(kernel: [1, 1, kernel], stride: [1, 1, stride], dilation: [1, 1, dilation],
                                padBefore: [0, 0, padding], padAfter: [0, 0, padding], groups: groups))
            return .init(actual: try graph.run([y])[0].floats(), expected: expected.values)
        }
    }

    /// Wan's VAE convolution: time padded in front only.
    static func causalConv3d(strategy: ConvolutionStrategy, variant: String,
                       tolerance: Double = convolutionTolerance) -> ConformanceCase {
        let shape = [1, 7, 6, 9, 11], weightShape = [5, 7, 3, 3, 3]
        return ConformanceCase(name: "causal-conv3d \(variant) 1x7x6x9x11->5 k3 p1 f16",
                               tolerance: tolerance) { context in
            let x = context.values(shape.reduce(1, *))
            let w = context.values(weightShape.reduce(1, *), scale: 0.5, roundedTo: .f16)
            let b = context.values(weightShape[0], roundedTo: .f16)
            let graph = context.graph(convolution: strategy)
            let y = try graph.causalConv3d(
                graph.input(x, shape: shape), weight: graph.input(w, shape: weightShape, dtype: .f16),
                bias: graph.input(b, shape: [weightShape[0]], dtype: .f16), padding: (1, 1))
            let expected = ConvReference.convolution(
                x, shape: shape, weight: w, outChannels: weightShape[0], bias: b,
                geometry: .init(kernel: [3, 3, 3], padBefore: [2, 1, 1], padAfter: [0, 1, 1]))
            return .init(actual: try graph.run([y])[0].floats(), expected: expected.values)
        }
    }

    static func convTranspose1d(strategy: ConvolutionStrategy, variant: String,
                       tolerance: Double = convolutionTolerance) -> ConformanceCase {
        let (batch, inChannels, length, outPerGroup, kernel, stride, padding, outputPadding, groups) =
            (2, 6, 17, 3, 5, 3, 2, 2, 2)
        return ConformanceCase(name: "conv-transpose1d \(variant) 2x6x17->6 k5 s3 p2 op2 g2 f16",
                               tolerance: tolerance) { context in
            let x = context.values(batch * inChannels * length)
            let w = context.values(inChannels * outPerGroup * kernel, scale: 0.5, roundedTo: .f16)
            let b = context.values(outPerGroup * groups, roundedTo: .f16)
            let graph = context.graph(convolution: strategy)
            let y = try graph.convTranspose1d(
                graph.input(x, shape: [batch, inChannels, length]),
                weight: graph.input(w, shape: [inChannels, outPerGroup, kernel], dtype: .f16),
                bias: graph.input(b, shape: [outPerGroup * groups], dtype: .f16), stride: stride, padding: padding,
                outputPadding: outputPadding, groups: groups)
            let expected = ConvReference.convTranspose1d(
                x, shape: [batch, inChannels, length], weight: w, kernel: kernel, outPerGroup: outPerGroup, bias: b,
                stride: stride, padding: padding, outputPadding: outputPadding, dilation: 1, groups: groups)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected.values)
        }
    }

    /// Real-ESRGAN's body layer: PReLU fused into the store, then a scaled residual added.
    static func fusedEpilogue(strategy: ConvolutionStrategy, variant: String?, tolerance: Double) -> ConformanceCase {
        let (batch, inChannels, height, width, outChannels) = (2, 5, 9, 11, 37)
        let kernel = variant.map { "\($0) " } ?? ""
        return ConformanceCase(name: "conv2d \(kernel)epilogue prelu+residual 2x5x9x11->37 k3 p1 f16",
                               tolerance: tolerance) { context in
            let xShape = [batch, inChannels, height, width], wShape = [outChannels, inChannels, 3, 3]
            let outShape = [batch, outChannels, height, width]
            let x = context.values(xShape.reduce(1, *))
            let w = context.values(wShape.reduce(1, *), scale: 0.5, roundedTo: .f16)
            let b = context.values(outChannels, roundedTo: .f16)
            let slopes = context.values(outChannels, scale: 0.4)
            let residual = context.values(outShape.reduce(1, *))
            let residualScale: Float = 0.2
            let graph = context.graph(convolution: strategy)
            let epilogue = ConvEpilogue(
                activation: .prelu(slopes: try graph.input(slopes, shape: [outChannels])),
                residual: try graph.input(residual, shape: outShape), outputScale: residualScale)
            let y = try graph.conv2d(
                graph.input(x, shape: xShape), weight: graph.input(w, shape: wShape, dtype: .f16),
                bias: graph.input(b, shape: [outChannels], dtype: .f16), padding: (1, 1), epilogue: epilogue)
            var expected = ConvReference.convolution(
                x, shape: [batch, inChannels, 1, height, width], weight: w, outChannels: outChannels, bias: b,
                geometry: .init(kernel: [1, 3, 3], padBefore: [0, 1, 1], padAfter: [0, 1, 1])).values
            for index in expected.indices {
                var value = expected[index]
                if value < 0 { value *= Double(slopes[index / (height * width) % outChannels]) }
                expected[index] = value * Double(residualScale) + Double(residual[index])
            }
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        }
    }
}
