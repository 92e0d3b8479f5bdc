import KinoraTensor

/// diffusers' `Snake1d` with its log-scale parameters: x + sin²(exp(α) · x) / (exp(β) + 1e-9), α and β one per
/// channel (stored [1, C, 1]), composed from elementwise ops.
struct OobleckSnake1d: Sendable {
    let weights: DeviceWeights

    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let frequency = try graph.exp(weights.value("alpha", in: graph))
        let inverseMagnitude = try graph.unary(.reciprocal, graph.exp(weights.value("beta", in: graph)), beta: 1e-9)
        let wave = try graph.unary(.square, graph.unary(.sin, graph.multiply(x, frequency)))
        return try graph.add(x, graph.multiply(inverseMagnitude, wave))
    }
}
