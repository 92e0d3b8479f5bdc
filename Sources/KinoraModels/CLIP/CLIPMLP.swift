import KinoraTensor

/// CLIP's feed-forward block (`CLIPMLP`): `fc2(activation(fc1(x)))`.
struct CLIPMLP {
    let configuration: CLIPTextConfig
    let weights: DeviceWeights

    /// Records the MLP over `x` [B, L, hidden].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let width = configuration.hiddenSize, inner = configuration.intermediateSize
        let fc1 = weights.scoped("fc1"), fc2 = weights.scoped("fc2")
        let hidden = try graph.linear(x, weight: fc1.value("weight", in: graph, shape: [inner, width]),
                                      bias: fc1.value("bias", in: graph, shape: [inner]))
        let activated = try activation(graph, hidden)
        return try graph.linear(activated, weight: fc2.value("weight", in: graph, shape: [width, inner]),
                                bias: fc2.value("bias", in: graph, shape: [width]))
    }

    private func activation(_ graph: Graph, _ x: Value) throws -> Value {
        guard let function = CLIPActivation(rawValue: configuration.hiddenAct) else {
            throw CLIPError.invalidConfiguration(file: weights.store.sourceName,
                                                 reason: "hidden_act '\(configuration.hiddenAct)' is not supported")
        }
        switch function {
        case .quickGELU:
            return try graph.multiply(x, graph.unary(.sigmoid, x, alpha: 1.702))
        case .gelu:
            return try graph.gelu(x)
        case .geluNew, .geluPyTorchTanh:
            return try graph.gelu(x, approximate: true)
        }
    }
}
