import KinoraTensor

extension PiperVoice {
    /// Piper's `modules.ElementwiseAffine`, run in reverse: `(x − m) · exp(−logs)` with per-channel `m` and `logs`.
    struct ElementwiseAffine: Sendable {
        let weights: DeviceWeights

        func reverse(_ graph: Graph, _ x: Value) throws -> Value {
            let channels = x.shape[1]
            let mean = try weights.value("m", in: graph, shape: [channels, 1])
            let inverseScale = try graph.unary(.exp, weights.value("logs", in: graph, shape: [channels, 1]), alpha: -1)
            return try graph.multiply(graph.subtract(x, mean), inverseScale)
        }
    }
}
