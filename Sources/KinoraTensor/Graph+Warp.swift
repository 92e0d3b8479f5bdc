/// Backward warping by optical flow (RIFE's `warp`): a new kernel for frame interpolation.
extension Graph {
    /// `image` [N, C, H, W] warped backward by the flow in channels `flowChannel` (x) and `flowChannel + 1` (y) of
    /// `flow` [N, F, H, W]: output pixel (x, y) is the image bilinearly sampled at (x + flow_x, y + flow_y), clamped
    /// into the image — PyTorch's `grid_sample(mode="bilinear", padding_mode="border", align_corners=True)` over the
    /// grid `linspace(-1, 1) + flow / ((size - 1) / 2)`, computed as RIFE computes it. The image, the flow and the
    /// result are stored in the activation type (RIFE's flows come from its convolutions); the sampling is f32.
    public func backwardWarp(_ image: Value, flow: Value, flowChannel: Int = 0) throws -> Value {
        let op = "backwardWarp"
        try check(image, op)
        try check(flow, op)
        guard image.rank == 4, flow.rank == 4, flow.shape[0] == image.shape[0],
            flow.shape.suffix(2) == image.shape.suffix(2), flowChannel >= 0, flowChannel + 2 <= flow.shape[1]
        else {
            throw TensorError.shapeMismatch(
                op: op, shapes: [image.shape, flow.shape],
                reason: "needs an image [N, C, H, W] and a flow [N, F, H, W] with channels \(flowChannel) and "
                    + "\(flowChannel + 1)")
        }
        let count = image.count
        let call = KernelCall(
            shader: activationShader("warp"), specialization: [UInt32(Self.elementwiseThreads)],
            pushConstants: [count, image.shape[1], image.shape[2], image.shape[3], flow.shape[1], flowChannel]
                .map(Launch.u32),
            groups: Launch.grid(count: count, local: Self.elementwiseThreads),
            operands: [
                .init(value: try activation(image).id, access: .read),
                .init(value: try activation(flow).id, access: .read),
            ],
            work: Double(count * 8), label: op)
        return record(call, output: image.shape, dtype: activationDType)
    }
}
