import KinoraTensor

/// transformers' `EncodecLSTM`: a stack of `num_lstm_layers` `nn.LSTM` layers (zero initial state) over the frames
/// of [N, C, T], with the input added back: `lstm(x) + x`. The layers read `lstm.weight_ih_l{k}`,
/// `lstm.weight_hh_l{k}`, `lstm.bias_ih_l{k}` and `lstm.bias_hh_l{k}`.
struct EncodecLSTM: Sendable {
    let weights: DeviceWeights
    let layers: Int

    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let input = try graph.permute(x, [2, 0, 1])
        var y = input
        for layer in 0..<layers {
            y = try graph.lstm(
                y, weightIH: weights.value("weight_ih_l\(layer)", in: graph),
                weightHH: weights.value("weight_hh_l\(layer)", in: graph),
                biasIH: weights.value("bias_ih_l\(layer)", in: graph),
                biasHH: weights.value("bias_hh_l\(layer)", in: graph))
        }
        return try graph.permute(graph.add(y, input), [1, 2, 0])
    }
}
