import KinoraTensor

/// transformers' `EncodecConvTranspose1d`: a weight-normalised `nn.ConvTranspose1d` (kernel 2 · stride in the
/// decoder) whose `kernel − stride` extra outputs are trimmed: all on the right times `trim_right_ratio` (rounded
/// up) for causal convolutions, else half on the right and the odd one on the left. [N, Cin, L] → [N, Cout, L ·
/// stride] for the decoder's kernels.
struct EncodecConvTranspose1d: Sendable {
    let weights: DeviceWeights
    let configuration: EncodecConfig
    let stride: Int

    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let weight = try weights.value("weight", in: graph)
        let bias = try weights.value("bias", in: graph)
        let total = weight.shape[2] - stride
        let right =
            configuration.useCausalConv
            ? Int((Double(total) * configuration.trimRightRatio).rounded(.up)) : total / 2
        let left = total - right
        // PyTorch's `padding` trims both sides alike and `output_padding` gives entries back on the right, so a
        // trim heavier on the left needs no copy; one heavier on the right (causal) slices the rest off.
        if left >= right, left - right < stride {
            return try graph.convTranspose1d(
                x, weight: weight, bias: bias, stride: stride, padding: left, outputPadding: left - right)
        }
        let both = min(left, right)
        let y = try graph.convTranspose1d(x, weight: weight, bias: bias, stride: stride, padding: both)
        return try graph.slice(y, axis: 2, start: left - both, length: y.shape[2] - (left + right - 2 * both))
    }
}
