/// How a convolution is computed.
public enum ConvolutionStrategy: Sendable, CaseIterable {
    /// Shared-memory tiles on GPUs, direct loads on CPU drivers (the transposed form always uses the tiles); tensor
    /// cores on the cooperative-matrix tier once their kernel has passed its self-check on the device.
    case automatic
    /// The implicit GEMM with input patches staged through shared memory (`conv.comp`; GPUs).
    case sharedMemory
    /// Each invocation reads its inputs straight from memory for 8 output channels at 4 positions
    /// (`conv_direct.comp`): on lavapipe, where a barrier is costly and caches do the tiling, a 64-channel 3×3 layer
    /// at 32² runs at 3.2 GFLOP/s against 1.0–1.3 for the shared-memory kernel.
    case direct
    /// Winograd F(4×4, 3×3) for the convolutions it computes (3×3, stride 1, one group; `Graph+Winograd.swift`), the
    /// automatic choice for the others.
    case winograd
    /// The automatic choice, except that where Winograd F(4×4, 3×3) is the faster kernel (CPU drivers: a 64-channel
    /// layer at 128² runs 6× faster than the direct kernel on lavapipe) it computes the convolutions it can, with
    /// its workspace in the activation arena: transformed input and products (36/16 of the input's and output's
    /// size, in pieces of at most `Graph.winogradPieceBytes` each) and transformed weights (f32, 4× the weight's
    /// elements). For graphs whose memory comes from their own `memoryPlan` (the upscaler's tiles) or from estimates
    /// that count the workspace (`WinogradWorkspace`: Stable Diffusion's UNet and VAE); figures that stand for GPUs
    /// are measured with `automatic`.
    case fastest
    /// The implicit GEMM on tensor cores through `VK_KHR_cooperative_matrix` (`conv_coopmat.comp`: f16 operand
    /// tiles, f32 accumulation, the same fused epilogue); throws on a device without cooperative matrices. The
    /// automatic and fastest choices on the cooperative-matrix tier once it has passed its self-check on the device.
    case cooperativeMatrix
}

/// Convolutions in PyTorch's layout (N, C, [T,] [H,] W activations; weights as PyTorch stores them, read in their
/// storage type), run as direct implicit GEMMs: input patches are gathered into shared-memory tiles on the fly and
/// never materialised as an im2col buffer. Input, residual and output activations are stored in the graph's
/// `activationDType` and computed in f32 (kernel names gain `@f16`/`@bf16`: `conv.f16@bf16` reads f16 weights and bf16
/// activations). A bias is read as f32 (a 16-bit bias is widened exactly; an f32 bias with 16-bit weights, as ncnn's
/// files have, keeps its precision). Float8 weights are decoded in the kernel and multiplied by their per-tensor scale.
extension Graph {
    /// Runs `body` with convolutions recorded by `strategy`, then restores the graph's own (as `withActivations`
    /// does for the activation type): how a model keeps its own strategy inside a shared graph.
    public func withConvolutions<Result>(_ strategy: ConvolutionStrategy, _ body: () throws -> Result) rethrows
        -> Result {
        let previous = convolutionStrategy
        convolutionStrategy = strategy
        defer { convolutionStrategy = previous }
        return try body()
    }

    /// The shape of one convolution over (time, height, width); 1-D and 2-D convolutions use size-1 leading axes.
    struct ConvGeometry {
        var batch: Int
        var inChannels: Int
        var outChannels: Int
        var groups: Int
        var input: [Int]
        var output: [Int]
        var kernel: [Int]
        var stride: [Int]
        var dilation: [Int]
        /// Zeros before each axis (after: the same for height and width, none for time).
        var padding: [Int]
        /// A 1-D transposed convolution (weight [Cin, Cout/groups, k]) in gather form.
        var transposed = false

        var outputSize: Int { output.reduce(1, *) }
    }

    /// A tile configuration for the convolution kernel (specialization constants); the kernel needs the thread
    /// count to be a multiple of `bn` and `bk` to be a multiple of threads / `bn`.
    struct ConvTile {
        var bm: Int, bn: Int, bk: Int, tm: Int, tn: Int
        var threads: Int { (bm / tm) * (bn / tn) }

        /// Rows sized to the output channels per group, so depthwise and few-channel convolutions waste little.
        /// Wide layers give each thread 8 × 4 outputs: on lavapipe a 64-channel 3×3 convolution runs at 1.3 GFLOP/s
        /// against 1.0 with 4 × 4 (fewer shared-memory reads per multiply-add).
        static func choose(outChannelsPerGroup m: Int) -> ConvTile {
            if m > 32 { return ConvTile(bm: 64, bn: 64, bk: 16, tm: 8, tn: 4) }
            if m > 16 { return ConvTile(bm: 32, bn: 128, bk: 16, tm: 4, tn: 4) }
            if m > 4 { return ConvTile(bm: 16, bn: 128, bk: 16, tm: 2, tn: 4) }
            if m > 1 { return ConvTile(bm: 4, bn: 128, bk: 16, tm: 1, tn: 4) }
            return ConvTile(bm: 1, bn: 128, bk: 16, tm: 1, tn: 1)
        }
    }

    /// A 2-D convolution as PyTorch's `Conv2d`: `x` [N, Cin, H, W], `weight` [Cout, Cin/groups, kH, kW],
    /// `bias` [Cout]; the result is [N, Cout, Hout, Wout] with
    /// Hout = (H + 2·padH − dilH·(kH − 1) − 1) / strideH + 1 (Wout likewise).
    /// 1×1 stride-1 unpadded kernels run as a plain GEMM over channels. `epilogue` fuses an activation and a
    /// scaled residual add into the store.
    public func conv2d(_ x: Value, weight: Value, bias: Value? = nil, stride: (Int, Int) = (1, 1),
                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1,
                       epilogue: ConvEpilogue = .none) throws -> Value {
        let geometry = try convolutionGeometry(
            op: "conv2d", x: x, weight: weight, bias: bias, stride: [stride.0, stride.1],
            padding: [padding.0, padding.1], dilation: [dilation.0, dilation.1], groups: groups, causal: false)
        return try recordConvolution(op: "conv2d", x: x, weight: weight, bias: bias, geometry: geometry,
                                     outputShape: [geometry.batch, geometry.outChannels] + geometry.output.suffix(2),
                                     epilogue: epilogue)
    }

    /// A 1-D convolution as PyTorch's `Conv1d`: `x` [N, Cin, L], `weight` [Cout, Cin/groups, k], `bias` [Cout];
    /// the result is [N, Cout, Lout], Lout = (L + 2·padding − dilation·(k − 1) − 1) / stride + 1.
    public func conv1d(_ x: Value, weight: Value, bias: Value? = nil, stride: Int = 1, padding: Int = 0,
                       dilation: Int = 1, groups: Int = 1) throws -> Value {
        let geometry = try convolutionGeometry(
            op: "conv1d", x: x, weight: weight, bias: bias, stride: [stride], padding: [padding],
            dilation: [dilation], groups: groups, causal: false)
        return try recordConvolution(op: "conv1d", x: x, weight: weight, bias: bias, geometry: geometry,
                                     outputShape: [geometry.batch, geometry.outChannels, geometry.output[2]])
    }

    /// A causal 3-D convolution as Wan's and Mochi's `CausalConv3d`: `x` [N, Cin, T, H, W], `weight`
    /// [Cout, Cin, kT, kH, kW], `bias` [Cout]. Time is padded in front only, with (kT − 1)·dilationT zeros, so
    /// output frame t reads input frames ≤ t·strideT; height and width are padded on both sides by `padding`.
    /// The result is [N, Cout, Tout, Hout, Wout] with Tout = (T − 1) / strideT + 1.
    ///
    /// `frontPadding` replaces the (kT − 1)·dilationT zeros in front of time (none behind), for a caller that puts
    /// frames cached from an earlier chunk there instead; Tout = (T + frontPadding − extentT) / strideT + 1.
    public func causalConv3d(_ x: Value, weight: Value, bias: Value? = nil, stride: (Int, Int, Int) = (1, 1, 1),
                             padding: (Int, Int) = (0, 0), dilation: (Int, Int, Int) = (1, 1, 1),
                             frontPadding: Int? = nil) throws -> Value {
        let geometry = try convolutionGeometry(
            op: "causalConv3d", x: x, weight: weight, bias: bias, stride: [stride.0, stride.1, stride.2],
            padding: [0, padding.0, padding.1], dilation: [dilation.0, dilation.1, dilation.2], groups: 1,
            causal: true, frontPadding: frontPadding)
        return try recordConvolution(op: "causalConv3d", x: x, weight: weight, bias: bias, geometry: geometry,
                                     outputShape: [geometry.batch, geometry.outChannels] + geometry.output)
    }

    /// A 1-D transposed convolution as PyTorch's `ConvTranspose1d`: `x` [N, Cin, L], `weight` [Cin, Cout/groups, k],
    /// `bias` [Cout]; the result is [N, Cout, Lout], Lout = (L − 1)·stride − 2·padding + dilation·(k − 1) +
    /// outputPadding + 1. Each output sums the inputs that map onto it (a gather, no atomics).
    public func convTranspose1d(_ x: Value, weight: Value, bias: Value? = nil, stride: Int, padding: Int = 0,
                                outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1) throws -> Value {
        let op = "convTranspose1d"
        try checkConvolutionOperands(op: op, x: x, weight: weight, bias: bias, spatialRank: 1)
        guard stride >= 1, dilation >= 1, padding >= 0, groups >= 1 else {
            throw TensorError.invalidArgument(
                op: op, reason: "stride \(stride) and dilation \(dilation) must be ≥ 1, padding \(padding) ≥ 0, "
                    + "groups \(groups) ≥ 1")
        }
        guard outputPadding >= 0, outputPadding < max(stride, dilation) else {
            throw TensorError.invalidArgument(
                op: op, reason: "output padding \(outputPadding) must be ≥ 0 and below stride \(stride) or dilation "
                    + "\(dilation)")
        }
        let (batch, inChannels, length) = (x.shape[0], x.shape[1], x.shape[2])
        guard weight.shape[0] == inChannels else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, weight.shape],
                                            reason: "weight must be [Cin, Cout/groups, k] with Cin = \(inChannels)")
        }
        guard inChannels % groups == 0 else {
            throw TensorError.invalidArgument(
                op: op, reason: "groups \(groups) does not divide the \(inChannels) input channels")
        }
        let kernel = weight.shape[2]
        let outChannels = weight.shape[1] * groups
        let outLength = (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
        guard outLength >= 1 else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, weight.shape],
                                            reason: "padding \(padding) leaves an output length of \(outLength)")
        }
        try checkConvolutionBias(op: op, bias: bias, outChannels: outChannels)
        let geometry = ConvGeometry(
            batch: batch, inChannels: inChannels, outChannels: outChannels, groups: groups, input: [1, 1, length],
            output: [1, 1, outLength], kernel: [1, 1, kernel], stride: [1, 1, stride], dilation: [1, 1, dilation],
            padding: [0, 0, padding], transposed: true)
        return try recordConvolution(op: op, x: x, weight: weight, bias: bias, geometry: geometry,
                                     outputShape: [batch, outChannels, outLength])
    }

    // MARK: Validation and recording

    private func checkConvolutionOperands(op: String, x: Value, weight: Value, bias: Value?,
                                          spatialRank: Int) throws {
        try check(x, op)
        try check(weight, op)
        if let bias { try check(bias, op) }
        let axes = (["N", "C"] + (spatialRank == 1 ? ["L"] : ["T", "H", "W"].suffix(spatialRank)))
            .joined(separator: ", ")
        guard x.rank == spatialRank + 2, weight.rank == spatialRank + 2 else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, weight.shape],
                                            reason: "input must be [\(axes)] and the weight of the same rank")
        }
    }

    private func checkConvolutionBias(op: String, bias: Value?, outChannels: Int) throws {
        guard let bias, bias.count != outChannels else { return }
        throw TensorError.shapeMismatch(op: op, shapes: [bias.shape], reason: "bias needs \(outChannels) elements")
    }

    /// Checks a (non-transposed) convolution and returns its geometry; `padding` is symmetric except along time
    /// when `causal`, where `frontPadding` (default (kT − 1)·dilationT) zeros go in front and none behind.
    private func convolutionGeometry(op: String, x: Value, weight: Value, bias: Value?, stride: [Int],
                                     padding: [Int], dilation: [Int], groups: Int, causal: Bool,
                                     frontPadding: Int? = nil) throws -> ConvGeometry
    {
        let rank = stride.count
        try checkConvolutionOperands(op: op, x: x, weight: weight, bias: bias, spatialRank: rank)
        guard stride.allSatisfy({ $0 >= 1 }), dilation.allSatisfy({ $0 >= 1 }), padding.allSatisfy({ $0 >= 0 }),
              groups >= 1
        else {
            throw TensorError.invalidArgument(
                op: op, reason: "stride \(stride) and dilation \(dilation) must be ≥ 1, padding \(padding) ≥ 0, "
                    + "groups \(groups) ≥ 1")
        }
        let inChannels = x.shape[1], outChannels = weight.shape[0]
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw TensorError.invalidArgument(
                op: op, reason: "groups \(groups) must divide the \(inChannels) input and \(outChannels) output "
                    + "channels")
        }
        guard weight.shape[1] * groups == inChannels else {
            throw TensorError.shapeMismatch(
                op: op, shapes: [x.shape, weight.shape],
                reason: "weight has \(weight.shape[1]) input channels per group; the input has \(inChannels) "
                    + "channels in \(groups) group(s)")
        }
        let lead = 3 - rank
        let kernel = Array(repeating: 1, count: lead) + weight.shape.suffix(rank)
        let input = Array(repeating: 1, count: lead) + x.shape.suffix(rank)
        let strides = Array(repeating: 1, count: lead) + stride
        let dilations = Array(repeating: 1, count: lead) + dilation
        var before = Array(repeating: 0, count: lead) + padding
        var after = before
        if causal {
            before[0] = frontPadding ?? (kernel[0] - 1) * dilations[0]
            after[0] = 0
            guard before[0] >= 0 else {
                throw TensorError.invalidArgument(op: op, reason: "front padding \(before[0]) must be ≥ 0")
            }
        }
        var output: [Int] = []
        for axis in 0..<3 {
            let padded = input[axis] + before[axis] + after[axis]
            let extent = dilations[axis] * (kernel[axis] - 1) + 1
            guard extent <= padded else {
                throw TensorError.shapeMismatch(
                    op: op, shapes: [x.shape, weight.shape],
                    reason: "kernel extent \(extent) exceeds the padded input size \(padded)")
            }
            output.append((padded - extent) / strides[axis] + 1)
        }
        try checkConvolutionBias(op: op, bias: bias, outChannels: outChannels)
        return ConvGeometry(batch: x.shape[0], inChannels: inChannels, outChannels: outChannels, groups: groups,
                            input: input, output: output, kernel: kernel, stride: strides, dilation: dilations,
                            padding: before)
    }

    /// The epilogue's specialization constants (activation kind, leaky slope bits, residual flag, output scale bits,
    /// residual-first flag)
    /// and its two operands (per-channel slopes, residual), each aliased to `placeholder` when unused.
    func epilogueBindings(op: String, _ epilogue: ConvEpilogue, outChannels: Int, outputShape: [Int],
                                  placeholder: KernelCall.Operand) throws
        -> (constants: [UInt32], operands: [KernelCall.Operand])
    {
        var constants: [UInt32] = [0, 0, 0, Float(1).bitPattern, epilogue.residualBeforeActivation ? 1 : 0]
        var operands = [placeholder, placeholder]
        switch epilogue.activation {
        case .none:
            break
        case .leakyReLU(let slope):
            guard slope.isFinite else {
                throw TensorError.invalidArgument(op: op, reason: "leaky ReLU slope \(slope) is not finite")
            }
            constants[0] = 1
            constants[1] = slope.bitPattern
        case .prelu(let slopes):
            try check(slopes, op)
            guard slopes.count == outChannels else {
                throw TensorError.shapeMismatch(op: op, shapes: [slopes.shape],
                                                reason: "PReLU needs one slope per output channel (\(outChannels))")
            }
            constants[0] = 2
            operands[0] = .init(value: try cast(slopes, to: .f32).id, access: .read)
        }
        if let residual = epilogue.residual {
            try check(residual, op)
            guard residual.shape == outputShape else {
                throw TensorError.shapeMismatch(op: op, shapes: [residual.shape, outputShape],
                                                reason: "the residual must have the output's shape")
            }
            guard epilogue.outputScale.isFinite else {
                throw TensorError.invalidArgument(op: op, reason: "output scale \(epilogue.outputScale) is not finite")
            }
            constants[2] = 1
            constants[3] = epilogue.outputScale.bitPattern
            operands[1] = .init(value: try activation(residual).id, access: .read)
        }
        return (constants, operands)
    }

    /// The implicit GEMM's launch over a convolution (`conv.comp`'s and `conv_coopmat.comp`'s): its mode (0 general,
    /// 1 pointwise, 2 transposed 1-D), its output-channel tiles of `rows` per group, its phases (the transposed kernel
    /// runs one GEMM per output position modulo the stride) and its workgroups, with position tiles of `columns`;
    /// and the push constants both kernels take.
    struct ConvGEMMLaunch {
        var mode: UInt32
        var rowTiles: Int
        var phases: Int
        var groups: (x: UInt32, y: UInt32, z: UInt32)
        var pushConstants: [UInt32]
        var work: Double
    }

    func convGEMMLaunch(op: String, _ g: ConvGeometry, rows: Int, columns tileColumns: Int, weightScale: Float)
        throws -> ConvGEMMLaunch {
        let inPerGroup = g.inChannels / g.groups, outPerGroup = g.outChannels / g.groups
        let pointwise = g.kernel == [1, 1, 1] && g.stride == [1, 1, 1] && g.padding == [0, 0, 0]
        let rowTiles = (outPerGroup + rows - 1) / rows
        let phases = g.transposed ? g.stride[2] : 1
        let columns = g.batch * (g.transposed ? (g.output[2] + phases - 1) / phases : g.outputSize)
        let zGroups = rowTiles * g.groups * phases
        guard zGroups <= 65535 else {
            throw TensorError.invalidArgument(
                op: op, reason: "\(g.groups) groups × \(phases) phases × \(rowTiles) channel tiles exceed 65535")
        }
        let columnTiles = Launch.groups((columns + tileColumns - 1) / tileColumns)
        return ConvGEMMLaunch(
            mode: g.transposed ? 2 : (pointwise ? 1 : 0), rowTiles: rowTiles, phases: phases,
            groups: (columnTiles.x, columnTiles.y, UInt32(zGroups)),
            pushConstants: ([g.batch, inPerGroup, outPerGroup, g.groups, rowTiles] + g.input + g.output)
                .map(Launch.u32) + [Launch.bits(weightScale)],
            work: 2 * Double(g.batch) * Double(g.outputSize) * Double(g.outChannels) * Double(inPerGroup)
                * Double(g.kernel.reduce(1, *)) / Double(phases))
    }

    private func recordConvolution(op: String, x: Value, weight: Value, bias: Value?, geometry g: ConvGeometry,
                                   outputShape: [Int], epilogue: ConvEpilogue = .none) throws -> Value {
        // Float8 weights have one variant, with the f32 bias; the scale is a push constant (1 for other types).
        let variant = weight.dtype.isFloat8 ? "\(weight.dtype.variant)_f32" : weight.dtype.variant
        let weightScale = weight.dtype.isFloat8 ? scale(of: weight) : 1
        let tile = ConvTile.choose(outChannelsPerGroup: g.outChannels / g.groups)
        let launch = try convGEMMLaunch(op: op, g, rows: tile.bm, columns: tile.bn, weightScale: weightScale)

        var operands = [KernelCall.Operand(value: try activation(x).id, access: .read),
                        KernelCall.Operand(value: weight.id, access: .read)]
        if let bias {
            operands.append(.init(value: try cast(bias, to: .f32).id, access: .read))
        } else {
            operands.append(operands[1])
        }
        let fused = try epilogueBindings(op: op, epilogue, outChannels: g.outChannels, outputShape: outputShape,
                                         placeholder: operands[0])
        let cpu = device.physical.kind == .cpu
        if Self.winogradChosen(convolutionStrategy, device: device), Self.winogradApplies(g),
           let plan = winogradPlan(g) {
            return recordWinogradConvolution(op: op, geometry: g, plan: plan, weight: weight, hasBias: bias != nil,
                                             operands: operands + fused.operands, epilogue: fused.constants,
                                             outputShape: outputShape)
        }
        if let plan = try cooperativeConvolutionPlan() {
            return try recordCooperativeConvolution(
                op: op, geometry: g, plan: plan, hasBias: bias != nil, variant: variant, weightScale: weightScale,
                operands: operands + fused.operands, epilogue: fused.constants, outputShape: outputShape)
        }
        let direct = !g.transposed && (convolutionStrategy == .direct || (convolutionStrategy != .sharedMemory && cpu))
        if direct {
            return try recordDirectConvolution(op: op, geometry: g, mode: launch.mode, hasBias: bias != nil,
                                               variant: variant, weightScale: weightScale,
                                               operands: operands + fused.operands, epilogue: fused.constants,
                                               outputShape: outputShape)
        }
        let tileConstants = [tile.threads, 1, 1, tile.bm, tile.bn, tile.bk, tile.tm, tile.tn]
        let call = KernelCall(
            shader: activationShader("conv.\(variant)"),
            specialization: tileConstants.map { UInt32($0) } + [launch.mode, bias == nil ? 0 : 1]
                + (g.kernel + g.stride + g.dilation + g.padding).map { UInt32($0) } + fused.constants,
            pushConstants: launch.pushConstants, groups: launch.groups, operands: operands + fused.operands,
            work: launch.work, label: op)
        return record(call, output: outputShape, dtype: activationDType)
    }

    /// Output channels each invocation of the direct kernel computes.
    static let directOutputChannels = 8
    static let directThreads = 64
    /// Output positions each invocation of the direct kernel computes (each weight read serves all of them).
    static let directPositions = 4

    /// Records `conv_direct.comp`: one invocation per output position and block of output channels.
    private func recordDirectConvolution(op: String, geometry g: ConvGeometry, mode: UInt32, hasBias: Bool,
                                         variant: String, weightScale: Float, operands: [KernelCall.Operand],
                                         epilogue: [UInt32], outputShape: [Int]) throws -> Value {
        let inPerGroup = g.inChannels / g.groups, outPerGroup = g.outChannels / g.groups
        let blocks = (outPerGroup + Self.directOutputChannels - 1) / Self.directOutputChannels
        guard blocks * g.groups <= 65535 else {
            throw TensorError.invalidArgument(
                op: op, reason: "\(g.groups) groups × \(blocks) channel blocks exceed 65535")
        }
        let positions = Launch.grid(count: (g.batch * g.outputSize + Self.directPositions - 1) / Self.directPositions,
                                    local: Self.directThreads)
        let constants = [Self.directThreads, 1, 1, Self.directOutputChannels, Self.directPositions, 0, 0, 0]
            .map { UInt32($0) }
            + [mode, hasBias ? 1 : 0] + (g.kernel + g.stride + g.dilation + g.padding).map { UInt32($0) } + epilogue
        let call = KernelCall(
            shader: activationShader("conv_direct.\(variant)"), specialization: constants,
            pushConstants: ([g.batch, inPerGroup, outPerGroup, g.groups, blocks] + g.input + g.output)
                .map(Launch.u32) + [Launch.bits(weightScale)],
            groups: (positions.x, positions.y, UInt32(blocks * g.groups)), operands: operands,
            work: 2 * Double(g.batch) * Double(g.outputSize) * Double(g.outChannels) * Double(inPerGroup)
                * Double(g.kernel.reduce(1, *)),
            label: op)
        return record(call, output: outputShape, dtype: activationDType)
    }
}
