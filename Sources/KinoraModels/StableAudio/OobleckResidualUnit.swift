import KinoraTensor

/// diffusers' `OobleckResidualUnit`: Snake, a 7-tap convolution dilated by `dilation` (padded to keep the length),
/// Snake, a 1×1 convolution, added back to the input. Its channel count stays the same.
struct OobleckResidualUnit: Sendable {
    let weights: DeviceWeights
    let dilation: Int

    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        var y = try OobleckSnake1d(weights: weights.scoped("snake1"))(graph, x)
        y = try OobleckLayers.conv(graph, y, weights.scoped("conv1"), padding: 3 * dilation, dilation: dilation)
        y = try OobleckSnake1d(weights: weights.scoped("snake2"))(graph, y)
        y = try OobleckLayers.conv(graph, y, weights.scoped("conv2"))
        return try graph.add(x, y)
    }

    /// The dilations of a block's three units (`res_unit1`, `res_unit2`, `res_unit3`).
    static let dilations = [1, 3, 9]
}
