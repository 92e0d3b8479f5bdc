import KinoraTensor

/// diffusers' `OobleckEncoderBlock`: three residual units (dilations 1, 3, 9), Snake, and a convolution of kernel
/// 2 · stride that downsamples time `stride`-fold and changes the width.
struct OobleckEncoderBlock: Sendable {
    let weights: DeviceWeights
    let stride: Int

    func callAsFunction(_ graph: Graph, _ input: Value) throws -> Value {
        var x = input
        for (index, dilation) in OobleckResidualUnit.dilations.enumerated() {
            x = try OobleckResidualUnit(weights: weights.scoped("res_unit\(index + 1)"), dilation: dilation)(graph, x)
        }
        x = try OobleckSnake1d(weights: weights.scoped("snake1"))(graph, x)
        return try OobleckLayers.conv(
            graph, x, weights.scoped("conv1"), stride: stride,
            padding: OobleckLayers.blockPadding(stride: stride))
    }
}
