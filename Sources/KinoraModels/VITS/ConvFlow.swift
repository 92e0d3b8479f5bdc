import KinoraTensor

extension PiperVoice {
    /// Piper's `modules.ConvFlow`, run in reverse: the first half of the channels, through `pre`, a DDSConv
    /// conditioned on the duration predictor's features and `proj`, gives each element of the second half the
    /// widths, heights and inner-knot slopes of a rational-quadratic spline, which is inverted.
    struct ConvFlow: Sendable {
        let weights: DeviceWeights
        let filterChannels: Int
        let kernelSize: Int
        let convLayers: Int
        let bins: Int
        let tailBound: Float

        func reverse(_ graph: Graph, _ x: Value, g: Value) throws -> Value {
            let half = x.shape[1] / 2, length = x.shape[2]
            let parts = try graph.split(x, sizes: [half, half], axis: 1)
            var h = try VITSLayers.conv(graph, parts[0], weights.scoped("pre"))
            h = try DDSConv(weights: weights.scoped("convs"), channels: filterChannels, kernelSize: kernelSize,
                            layers: convLayers)(graph, h, g: g)
            h = try VITSLayers.conv(graph, h, weights.scoped("proj"))
            // [1, half · (3K − 1), T] → [1, half, T, 3K − 1]: each element's spline parameters in a row.
            let parameters = try graph.permute(graph.reshape(h, [1, half, 3 * bins - 1, length]), [0, 1, 3, 2])
            let normalizer = 1 / Float(filterChannels).squareRoot()
            let widths = try graph.scale(graph.slice(parameters, axis: 3, start: 0, length: bins), by: normalizer)
            let heights = try graph.scale(graph.slice(parameters, axis: 3, start: bins, length: bins), by: normalizer)
            let derivatives = try graph.slice(parameters, axis: 3, start: 2 * bins, length: bins - 1)
            let transformed = try graph.rationalQuadraticSpline(
                parts[1], widths: widths, heights: heights, derivatives: derivatives, tailBound: tailBound,
                inverse: true)
            return try graph.concat([parts[0], transformed], axis: 1)
        }
    }
}
