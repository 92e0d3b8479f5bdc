import KinoraTensor

/// transformers' `EncodecConv1d`: a weight-normalised `nn.Conv1d` (the norm folded at load time, so it reads
/// `weight` and `bias`) that pads its input itself, by the configuration's `pad_mode`: causal convolutions put the
/// whole `kernel − stride` (dilated kernel) on the left, the others split it with the odd entry on the left; both add
/// on the right what makes the last window whole (`_get_extra_padding_for_conv1d`, 0 for stride 1). [N, Cin, L] →
/// [N, Cout, ⌈L / stride⌉].
struct EncodecConv1d: Sendable {
    let weights: DeviceWeights
    let configuration: EncodecConfig
    var stride = 1
    var dilation = 1

    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let weight = try weights.value("weight", in: graph)
        let kernel = (weight.shape[2] - 1) * dilation + 1
        let total = kernel - stride
        let length = x.shape[2]
        let extra = (length + stride - 1) / stride * stride - length
        let right = configuration.useCausalConv ? extra : total / 2 + extra
        let padded = try Self.pad(graph, x, left: total + extra - right, right: right, mode: configuration.padding)
        return try graph.conv1d(
            padded, weight: weight, bias: weights.value("bias", in: graph), stride: stride, dilation: dilation)
    }

    /// transformers' `_pad1d`: `F.pad` of the last axis, except that a reflection wider than the input first pads
    /// the input with zeros on the right to one more than the padding (and drops as many entries at the end after).
    static func pad(_ graph: Graph, _ x: Value, left: Int, right: Int, mode: Graph.PadMode) throws -> Value {
        let length = x.shape[x.rank - 1]
        let widest = max(left, right)
        guard mode == .reflect, length <= widest else { return try graph.pad(x, left: left, right: right, mode: mode) }
        let zeros = widest - length + 1
        let padded = try graph.pad(graph.pad(x, left: 0, right: zeros), left: left, right: right, mode: .reflect)
        return try graph.slice(padded, axis: -1, start: 0, length: left + length + right)
    }
}
