/// Channel-wise L2 normalisation of channel-first activations (`channel_rms_norm.comp`).
extension Graph {
    static let channelNormThreads = 64

    /// Wan's `RMS_norm` on channel-first activations: `x` [N, C, ...spatial] becomes
    /// `F.normalize(x, dim=1) · scale · weight + bias`, i.e. x / max(‖x[n, :, s]‖₂, epsilon) · scale · weight[c]
    /// + bias[c] at each position s. With the default scale √C this is x / rms(x) · weight, the RMS over the
    /// channels. `weight` and `bias` hold C elements (any shape, e.g. Wan's [C, 1, 1, 1] gammas) in any storage
    /// type; `x` and the result are in the activation type, the statistics f32.
    public func channelRMSNorm(
        _ x: Value, weight: Value?, bias: Value? = nil, scale: Float? = nil,
        epsilon: Float = 1e-12
    ) throws -> Value {
        let op = "channelRMSNorm"
        try check(x, op)
        guard x.rank >= 2 else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape], reason: "x must be [N, C, ...]")
        }
        let channels = x.shape[1]
        let scale = scale ?? Float(channels).squareRoot()
        guard epsilon >= 0, epsilon.isFinite, scale.isFinite else {
            throw TensorError.invalidArgument(
                op: op,
                reason: "epsilon \(epsilon) must be finite and ≥ 0, scale "
                    + "\(scale) finite")
        }
        for parameter in [weight, bias].compactMap({ $0 }) {
            try check(parameter, op)
            guard parameter.count == channels else {
                throw TensorError.shapeMismatch(
                    op: op, shapes: [x.shape, parameter.shape],
                    reason: "weight and bias need \(channels) elements")
            }
        }
        let input = try activation(x)
        // The affine parameters are read in their storage type; float8 ones are widened to f32 (no variant).
        let storedType = weight?.dtype ?? bias?.dtype ?? .f32
        let affineType = storedType.isFloat8 ? .f32 : storedType
        let weightOperand = try weight.map { try cast($0, to: affineType) } ?? input
        let biasOperand = try bias.map { try cast($0, to: affineType) } ?? input
        let spatial = x.shape.dropFirst(2).reduce(1, *)
        let positions = x.shape[0] * spatial
        let call = KernelCall(
            shader: activationShader("channel_rms_norm.\(affineType.variant)"),
            specialization: [UInt32(Self.channelNormThreads), 1, 1, weight == nil ? 0 : 1, bias == nil ? 0 : 1],
            pushConstants: [
                Launch.u32(positions), Launch.u32(channels), Launch.u32(spatial), Launch.bits(scale),
                Launch.bits(epsilon),
            ],
            groups: Launch.grid(count: positions, local: Self.channelNormThreads),
            operands: [input, weightOperand, biasOperand].map { KernelCall.Operand(value: $0.id, access: .read) },
            work: Double(x.count * 3), label: op)
        return record(call, output: x.shape, dtype: activationDType)
    }
}
