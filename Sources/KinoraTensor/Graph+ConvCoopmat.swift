import KinoraGPU
import KinoraShaders

/// Convolutions on tensor cores: which calls take `conv_coopmat.comp`, and its recording. The launch geometry is the
/// matmul's (`CooperativeMatrixPlan`: 64 × 64 tiles of output channels × positions, 2 × 2 subgroups).
extension Graph {
    /// The tensor-core plan for convolutions, or nil when the other kernels run them: by strategy, and for the
    /// automatic (and fastest) choice on devices below the cooperative-matrix tier, on CPU drivers (Mesa 26's
    /// lavapipe emulates the matrices: 330 ms where the direct kernel takes 100 on an ESRGAN body convolution), or
    /// whose kernel failed its first-use check.
    func cooperativeConvolutionPlan() throws -> CooperativeMatrixPlan? {
        switch convolutionStrategy {
        case .cooperativeMatrix:
            guard device.physical.features.cooperativeMatrix else {
                throw TensorError.invalidArgument(op: "conv", reason: "\(device.physical.name) has no "
                    + "VK_KHR_cooperative_matrix with f16 inputs; use another convolution strategy")
            }
            let plan = try CooperativeMatrixPlan(device: device)
            guard ShaderLibrary.spirv(named: "conv_coopmat.f32") != nil else {
                throw TensorError.invalidArgument(op: "conv", reason: "this build has no cooperative-matrix "
                    + "convolution (glslang 13 was missing at build time; run scripts/setup.sh and rebuild)")
            }
            return plan
        case .automatic, .fastest:
            guard tier == .cooperativeMatrix, device.physical.kind != .cpu,
                  let plan = try? CooperativeMatrixPlan(device: device),
                  ShaderLibrary.spirv(named: "conv_coopmat.f32") != nil,
                  CooperativeMatrixCheck.passes(.convolution, on: device) else { return nil }
            return plan
        case .sharedMemory, .direct, .winograd:
            return nil
        }
    }

    /// Records `conv_coopmat.comp` for a checked convolution: the same GEMM, grid and push constants as
    /// `conv.comp`, its input read and its output stored in the activation type.
    func recordCooperativeConvolution(op: String, x: Value, weight: Value, bias: Value?, geometry g: ConvGeometry,
                                      plan: CooperativeMatrixPlan, epilogue: ConvEpilogue, outputShape: [Int])
        throws -> Value {
        let inPerGroup = g.inChannels / g.groups, outPerGroup = g.outChannels / g.groups
        let pointwise = g.kernel == [1, 1, 1] && g.stride == [1, 1, 1] && g.padding == [0, 0, 0]
        let mode: UInt32 = g.transposed ? 2 : (pointwise ? 1 : 0)
        let rowTiles = (outPerGroup + plan.bm - 1) / plan.bm
        let phases = g.transposed ? g.stride[2] : 1
        let columns = g.batch * (g.transposed ? (g.output[2] + phases - 1) / phases : g.outputSize)
        let zGroups = rowTiles * g.groups * phases
        guard zGroups <= 65535 else {
            throw TensorError.invalidArgument(
                op: op, reason: "\(g.groups) groups × \(phases) phases × \(rowTiles) channel tiles exceed 65535")
        }
        let columnTiles = Launch.groups((columns + plan.bn - 1) / plan.bn)
        let input = KernelCall.Operand(value: try activation(x).id, access: .read)
        let weightOperand = KernelCall.Operand(value: weight.id, access: .read)
        let biasOperand = try bias.map { KernelCall.Operand(value: try cast($0, to: .f32).id, access: .read) }
        let fused = try epilogueBindings(op: op, epilogue, outChannels: g.outChannels, outputShape: outputShape,
                                         placeholder: input)
        let variant = weight.dtype.isFloat8 ? "\(weight.dtype.variant)_f32" : weight.dtype.variant
        let weightScale = weight.dtype.isFloat8 ? scale(of: weight) : 1
        let constants = [plan.subgroupsM * plan.subgroupsN * plan.subgroupSize, 1, 1, plan.bm, plan.bn,
                         plan.shape.m, plan.shape.n, plan.shape.k, Int(mode), bias == nil ? 0 : 1]
            + g.kernel + g.stride + g.dilation + g.padding
        let call = KernelCall(
            shader: activationShader("conv_coopmat.\(variant)"),
            specialization: constants.map { UInt32($0) } + fused.constants,
            pushConstants: ([g.batch, inPerGroup, outPerGroup, g.groups, rowTiles] + g.input + g.output)
                .map(Launch.u32) + [Launch.bits(weightScale)],
            groups: (columnTiles.x, columnTiles.y, UInt32(zGroups)),
            operands: [input, weightOperand, biasOperand ?? weightOperand] + fused.operands,
            work: 2 * Double(g.batch) * Double(g.outputSize) * Double(g.outChannels) * Double(inPerGroup)
                * Double(g.kernel.reduce(1, *)) / Double(phases),
            label: op, subgroupSize: UInt32(plan.subgroupSize))
        return record(call, output: outputShape, dtype: activationDType)
    }
}

extension CooperativeMatrixCheck {
    /// The larger relative L2 difference between the tensor-core and the shared-memory convolution on a random
    /// 3×3 convolution of awkward size (several channel and position tiles, none full) with a bias: one with f16
    /// weights, one with scaled float8 e4m3fn weights (staged unscaled, the scale applied to the product).
    static func compareConvolution(on device: GPUDevice) throws -> Double {
        let (batch, inChannels, height, width, outChannels) = (2, 19, 9, 11, 70)
        var generator = SystemRandomNumberGenerator()
        let random = { (count: Int) in (0..<count).map { _ in Float.random(in: -1...1, using: &generator) } }
        let weightCount = outChannels * inChannels * 9
        let x = try Tensor(random(batch * inChannels * height * width), shape: [batch, inChannels, height, width],
                           on: device)
        let weight = try Tensor(random(weightCount), shape: [outChannels, inChannels, 3, 3], dtype: .f16, on: device)
        let float8 = HostConversion.bytes(of: random(weightCount).map { $0 * 448 }, as: .f8e4m3fn)
        let weight8 = try float8.withUnsafeBytes {
            try Tensor(bytes: $0, shape: [outChannels, inChannels, 3, 3], dtype: .f8e4m3fn, scale: 1 / 448,
                       on: device)
        }
        let bias = try Tensor(random(outChannels), shape: [outChannels], dtype: .f16, on: device)
        let arena = ActivationArena(device: device)
        func convolution(_ weight: Tensor, _ strategy: ConvolutionStrategy) throws -> [Float] {
            let graph = Graph(arena: arena)
            graph.convolutionStrategy = strategy
            let output = try graph.conv2d(graph.input(x), weight: graph.input(weight), bias: graph.input(bias),
                                          padding: (1, 1))
            return try graph.run([output])[0].floats()
        }
        return try [weight, weight8].map { weight in
            relativeDifference(try convolution(weight, .cooperativeMatrix), try convolution(weight, .sharedMemory))
        }.max() ?? .infinity
    }
}
