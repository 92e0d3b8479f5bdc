import KinoraReference
import KinoraTensor
import XCTest

/// Winograd F(4×4, 3×3) convolutions (`Graph+Winograd.swift`) against the double-precision reference: sizes that
/// leave partial tiles and partial channel blocks, batches, every padding, every weight type, every epilogue, and
/// convolutions computed in many pieces.
final class WinogradTests: TensorTestCase {
    struct Case {
        var batch = 1
        var inChannels: Int, height: Int, width: Int, outChannels: Int
        var padding = 1
        var bias = true
        var dtype = DType.f32
        var activation: Activation? = nil
        /// With a residual: its scale and whether it is added before the activation.
        var residual: (scale: Float, first: Bool)? = nil

        enum Activation {
            case leaky(Float)
            case prelu
        }
    }

    /// Runs the case's `conv2d` (with `convolutionStrategy` and `pieceBytes`) and checks it against the reference
    /// followed by the epilogue in double precision.
    func check(_ c: Case, pieceBytes: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let label = "\(c) pieces of \(pieceBytes.map(String.init) ?? "default") bytes"
        let xShape = [c.batch, c.inChannels, c.height, c.width]
        let wShape = [c.outChannels, c.inChannels, 3, 3]
        let x = randomValues(xShape.reduce(1, *))
        let w = randomValues(wShape.reduce(1, *), scale: 0.5).map { HostConversionMirror.rounded($0, to: c.dtype) }
        let b = c.bias ? randomValues(c.outChannels).map { HostConversionMirror.rounded($0, to: c.dtype) } : nil
        let slopes = randomValues(c.outChannels, scale: 0.4)
        let reference = ConvReference.convolution(
            x, shape: [c.batch, c.inChannels, 1, c.height, c.width], weight: w, outChannels: c.outChannels, bias: b,
            geometry: .init(
                kernel: [1, 3, 3], padBefore: [0, c.padding, c.padding],
                padAfter: [0, c.padding, c.padding]))
        let outShape = [c.batch, c.outChannels, reference.shape[3], reference.shape[4]]
        let residual = randomValues(outShape.reduce(1, *))
        let plane = outShape[2] * outShape[3]
        var expected = reference.values
        for i in expected.indices {
            var value = expected[i]
            if let (scale, first) = c.residual, first { value = value * Double(scale) + Double(residual[i]) }
            switch c.activation {
            case .leaky(let slope): if value < 0 { value *= Double(slope) }
            case .prelu: if value < 0 { value *= Double(slopes[(i / plane) % c.outChannels]) }
            case nil: break
            }
            if let (scale, first) = c.residual, !first { value = value * Double(scale) + Double(residual[i]) }
            expected[i] = value
        }

        let graph = makeGraph()
        if let pieceBytes { graph.winogradPieceBytes = pieceBytes }
        let activation: ConvEpilogue.Activation
        switch c.activation {
        case .leaky(let slope): activation = .leakyReLU(slope: slope)
        case .prelu: activation = .prelu(slopes: try graph.input(slopes, shape: [c.outChannels]))
        case nil: activation = .none
        }
        let epilogue = ConvEpilogue(
            activation: activation, residual: try c.residual.map { _ in try graph.input(residual, shape: outShape) },
            outputScale: c.residual?.scale ?? 1, residualBeforeActivation: c.residual?.first ?? false)
        let y = try graph.conv2d(
            graph.input(x, shape: xShape), weight: graph.input(w, shape: wShape, dtype: c.dtype),
            bias: try b.map { try graph.input($0, shape: [c.outChannels], dtype: c.dtype) },
            padding: (c.padding, c.padding), epilogue: epilogue)
        let (outputs, timings) = try graph.runProfiled([y])
        XCTAssertEqual(outputs[0].shape, outShape, label, file: file, line: line)
        if convolutionStrategy == .winograd {
            XCTAssertTrue(
                timings.contains { $0.label.contains("winograd gemm") }, "\(label) ran without Winograd",
                file: file, line: line)
        }
        assertClose(try outputs[0].floats(), expected, tolerance: 1e-5, label, file: file, line: line)
    }

    func testOddSizesPartialTilesAndPartialChannelBlocksMatchTheReference() throws {
        convolutionStrategy = .winograd
        // Outputs that are not whole 4×4 tiles, channel counts that are not whole blocks of 4 or 8.
        try check(Case(batch: 2, inChannels: 5, height: 13, width: 17, outChannels: 7))
        try check(Case(inChannels: 3, height: 10, width: 7, outChannels: 64))
        try check(Case(inChannels: 64, height: 9, width: 11, outChannels: 12))
        try check(Case(batch: 3, inChannels: 33, height: 6, width: 5, outChannels: 70, bias: false))
        try check(Case(inChannels: 1, height: 1, width: 1, outChannels: 1))
        try check(Case(batch: 2, inChannels: 2, height: 2, width: 3, outChannels: 9))
    }

    func testEveryPaddingMatchesTheReference() throws {
        convolutionStrategy = .winograd
        try check(Case(inChannels: 6, height: 7, width: 9, outChannels: 5, padding: 0))
        try check(Case(batch: 2, inChannels: 4, height: 5, width: 6, outChannels: 10, padding: 2))
        try check(Case(inChannels: 3, height: 3, width: 3, outChannels: 3, padding: 0))
    }

    func testEveryWeightTypeMatchesTheReference() throws {
        convolutionStrategy = .winograd
        for dtype in [DType.f32, .f16, .bf16] {
            try check(Case(batch: 2, inChannels: 9, height: 11, width: 6, outChannels: 17, dtype: dtype))
        }
    }

    func testEveryEpilogueMatchesTheReference() throws {
        convolutionStrategy = .winograd
        let base = Case(batch: 2, inChannels: 7, height: 9, width: 14, outChannels: 13)
        var cases: [Case] = []
        for activation in [nil, Case.Activation.leaky(0.2), .prelu] {
            for residual in [nil, (scale: Float(0.2), first: false), (scale: Float(-1.5), first: true)] {
                var c = base
                c.activation = activation
                c.residual = residual
                cases.append(c)
            }
        }
        for c in cases { try check(c) }
    }

    func testConvolutionsInManyPiecesMatchTheReference() throws {
        convolutionStrategy = .winograd
        // One GEMM block of 8 tiles per piece (36 positions × 8 tiles × 16 channels × 4 bytes), so pieces end inside
        // tile rows and across images; then pieces of 3 blocks, leaving a partial last piece.
        let oneBlock = 36 * 8 * 16 * 4
        var c = Case(
            batch: 2, inChannels: 16, height: 13, width: 22, outChannels: 11, activation: .prelu,
            residual: (scale: 0.5, first: false))
        try check(c, pieceBytes: oneBlock)
        try check(c, pieceBytes: 3 * oneBlock)
        c.dtype = .f16
        c.activation = .leaky(0.1)
        c.residual = nil
        try check(c, pieceBytes: oneBlock)
    }

    func testPiecesBoundTheWorkspaceAndThePlanCountsTheOutputOnce() throws {
        convolutionStrategy = .winograd
        // 64 channels at 96×96: 576 tiles, 5.3 MB of transformed input and as much of products in one piece.
        let plans = try [nil, 1 << 20].map { pieceBytes -> (plan: MemoryPlan, dispatches: Int) in
            let graph = makeGraph()
            if let pieceBytes { graph.winogradPieceBytes = pieceBytes }
            let y = try graph.conv2d(
                graph.input([Float](repeating: 0, count: 64 * 96 * 96), shape: [1, 64, 96, 96]),
                weight: graph.input([Float](repeating: 0, count: 64 * 64 * 9), shape: [64, 64, 3, 3]),
                padding: (1, 1))
            return (try graph.memoryPlan([y]), graph.nodeCount)
        }
        for (plan, _) in plans { XCTAssertEqual(plan.outputBytes, UInt64(64 * 96 * 96 * 4)) }
        XCTAssertEqual(plans[0].dispatches, 4, "weights, then one piece of input, GEMMs and output")
        XCTAssertEqual(plans[1].dispatches, 1 + 3 * 6, "576 tiles in 6 pieces (at most 1 MiB / 9216 bytes a tile)")
        let transformedWeights = UInt64(36 * 64 * 64 * 4)
        XCTAssertGreaterThan(plans[0].plan.activationBytes, transformedWeights + 2 * 5_000_000)
        XCTAssertLessThanOrEqual(plans[1].plan.activationBytes, transformedWeights + 2 * (1 << 20) + 4 * 65536)
    }

    /// `WinogradWorkspace`, which memory estimators replay, sizes the arena requests a recorded convolution plans.
    func testTheWorkspaceSizesAreThoseTheConvolutionPlans() throws {
        func workspace(_ strategy: ConvolutionStrategy, pieceBytes: Int = Graph.defaultWinogradPieceBytes)
            -> WinogradWorkspace? {
            WinogradWorkspace(strategy, device: device, batch: 1, inChannels: 64, outChannels: 64, height: 96,
                              width: 96, kernel: 3, padding: 1, pieceBytes: pieceBytes)
        }
        let whole = try XCTUnwrap(workspace(.winograd))
        XCTAssertEqual(whole.weightBytes, 36 * 64 * 64 * 4)
        let tileBytes = 36 * 64 * 4
        XCTAssertEqual(whole.pieces, [.init(inputBytes: tileBytes * 576, productBytes: tileBytes * 576)])
        XCTAssertEqual(try XCTUnwrap(workspace(.winograd, pieceBytes: 1 << 20)).pieces.count, 6)
        XCTAssertNil(workspace(.automatic))
        XCTAssertEqual(workspace(.fastest) != nil, device.physical.kind == .cpu)
        XCTAssertNil(WinogradWorkspace(.winograd, device: device, batch: 1, inChannels: 64, outChannels: 64,
                                       height: 96, width: 96, kernel: 3, stride: 2, padding: 1))
        XCTAssertNil(WinogradWorkspace(.winograd, device: device, batch: 1, inChannels: 1280, outChannels: 1280,
                                       height: 8, width: 8, kernel: 3, padding: 1), "past the weight limit")

        let graph = makeGraph()
        graph.convolutionStrategy = .winograd
        let y = try graph.conv2d(
            graph.input([Float](repeating: 0, count: 64 * 96 * 96), shape: [1, 64, 96, 96]),
            weight: graph.input([Float](repeating: 0, count: 64 * 64 * 9), shape: [64, 64, 3, 3]), padding: (1, 1))
        let requests: [Int] = [whole.weightBytes, whole.pieces[0].inputBytes, whole.pieces[0].productBytes]
        var slots: UInt64 = 0
        for bytes in requests { slots += ActivationArena.slotSize(for: UInt64(bytes)) }
        XCTAssertEqual(try graph.memoryPlan([y]).activationBytes, slots)
    }

    func testThreeDConvolutionsWithOneByThreeByThreeKernelsRunFrameByFrame() throws {
        convolutionStrategy = .winograd
        // NCTHW input, 1×3×3 kernel (Wan's 2-D convolutions inside its video VAE): each frame is one image.
        let shape = [2, 5, 3, 7, 9]
        let weightShape = [6, 5, 1, 3, 3]
        let x = randomValues(shape.reduce(1, *))
        let w = randomValues(weightShape.reduce(1, *), scale: 0.5)
        let b = randomValues(6)
        let graph = makeGraph()
        graph.winogradPieceBytes = 36 * 8 * 8 * 4
        let y = try graph.causalConv3d(
            graph.input(x, shape: shape), weight: graph.input(w, shape: weightShape),
            bias: graph.input(b, shape: [6]), padding: (1, 1))
        let expected = ConvReference.convolution(
            x, shape: shape, weight: w, outChannels: 6, bias: b,
            geometry: .init(kernel: [1, 3, 3], padBefore: [0, 1, 1], padAfter: [0, 1, 1]))
        let (outputs, timings) = try graph.runProfiled([y])
        XCTAssertEqual(outputs[0].shape, expected.shape)
        XCTAssertTrue(timings.contains { $0.label.contains("winograd gemm") })
        assertClose(try outputs[0].floats(), expected.values, tolerance: 1e-5)
    }

    func testTheFastestChoiceOnCPUDriversIsWinogradForThreeByThreeStrideOneConvolutionsOnly() throws {
        try XCTSkipUnless(device.physical.kind == .cpu, "the fastest choice differs on GPUs")
        convolutionStrategy = .fastest
        let graph = makeGraph()
        let x = try graph.input(randomValues(2 * 8 * 9 * 9), shape: [2, 8, 9, 9])
        let w3 = try graph.input(randomValues(8 * 8 * 9), shape: [8, 8, 3, 3])
        let w1 = try graph.input(randomValues(8 * 8), shape: [8, 8, 1, 1])
        let video = try graph.input(randomValues(8 * 3 * 5 * 5), shape: [1, 8, 3, 5, 5])
        let w333 = try graph.input(randomValues(8 * 8 * 27), shape: [8, 8, 3, 3, 3])
        let outputs = [
            try graph.conv2d(x, weight: w3, padding: (1, 1)),
            try graph.conv2d(x, weight: w3, stride: (2, 2), padding: (1, 1)),
            try graph.conv2d(x, weight: w3, padding: (1, 1), dilation: (2, 2)),
            try graph.conv2d(x, weight: w1),
            try graph.causalConv3d(video, weight: w333, padding: (1, 1)),
        ]
        let winograd = try outputs.map { output in
            try graph.runProfiled([output]).timings.contains { $0.label.contains("winograd") }
        }
        XCTAssertEqual(winograd, [true, false, false, false, false])
        // The automatic choice needs no workspace.
        let automatic = Graph(arena: arena)
        let y = try automatic.conv2d(
            automatic.input(randomValues(8 * 81), shape: [1, 8, 9, 9]),
            weight: automatic.input(randomValues(8 * 8 * 9), shape: [8, 8, 3, 3]), padding: (1, 1))
        XCTAssertFalse(try automatic.runProfiled([y]).timings.contains { $0.label.contains("winograd") })
    }
}
