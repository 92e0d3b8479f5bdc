import KinoraGPU

/// Convolutions on tensor cores: which calls take `conv_coopmat.comp`, and its recording. The launch geometry is the
/// matmul's medium tile (`CooperativeMatrixPlan`: 64 × 64 tiles of output channels × positions, 2 × 2 subgroups).
extension Graph {
    /// The tensor-core plan for convolutions, or nil when the other kernels run them: by strategy, and for the
    /// automatic (and fastest) choice on devices below the cooperative-matrix tier, on CPU drivers
    /// (`GPUDevice.automaticTensorCores`), or whose kernel failed its first-use check.
    func cooperativeConvolutionPlan() throws -> CooperativeMatrixPlan? {
        switch convolutionStrategy {
        case .cooperativeMatrix:
            return try convolutionPlan()
        case .automatic, .fastest:
            guard device.automaticTensorCores, let plan = try? convolutionPlan(),
                  CooperativeMatrixCheck.passes(.convolution, on: device) else { return nil }
            return plan
        case .sharedMemory, .direct, .winograd:
            return nil
        }
    }

    /// The tensor-core plan of `conv_coopmat.comp`; throws where the device or the build has none.
    private func convolutionPlan() throws -> CooperativeMatrixPlan {
        try CooperativeMatrixPlan(device: device, op: "conv", shader: "conv_coopmat.f32",
                                  otherStrategies: "use another convolution strategy",
                                  kernels: "cooperative-matrix convolution")
    }

    /// Records `conv_coopmat.comp` for a checked convolution over `recordConvolution`'s operands (input, weight,
    /// bias or its placeholder, then the epilogue's) and epilogue constants: the same GEMM launch and push constants
    /// as `conv.comp`, on the tensor-core plan's tiles; the output is stored in the activation type.
    func recordCooperativeConvolution(op: String, geometry g: ConvGeometry, plan: CooperativeMatrixPlan,
                                      hasBias: Bool, variant: String, weightScale: Float,
                                      operands: [KernelCall.Operand], epilogue: [UInt32], outputShape: [Int])
        throws -> Value {
        let launch = try convGEMMLaunch(op: op, g, rows: plan.bm, columns: plan.bn, weightScale: weightScale)
        let constants = [plan.subgroupsM * plan.subgroupsN * plan.subgroupSize, 1, 1, plan.bm, plan.bn,
                         plan.shape.m, plan.shape.n, plan.shape.k, Int(launch.mode), hasBias ? 1 : 0]
            + g.kernel + g.stride + g.dilation + g.padding
        let call = KernelCall(
            shader: activationShader("conv_coopmat.\(variant)"),
            specialization: constants.map { UInt32($0) } + epilogue, pushConstants: launch.pushConstants,
            groups: launch.groups, operands: operands, work: launch.work, label: op,
            subgroupSize: UInt32(plan.subgroupSize))
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
