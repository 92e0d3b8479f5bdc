import KinoraTensor

/// diffusers' `OobleckDecoderBlock`: Snake, a transposed convolution of kernel 2 · stride that upsamples time
/// `stride`-fold and changes the width, then three residual units (dilations 1, 3, 9).
struct OobleckDecoderBlock: Sendable {
    let weights: DeviceWeights
    let stride: Int

    func callAsFunction(_ graph: Graph, _ input: Value) throws -> Value {
        var x = try OobleckSnake1d(weights: weights.scoped("snake1"))(graph, input)
        let up = weights.scoped("conv_t1")
        x = try graph.convTranspose1d(
            x, weight: up.value("weight", in: graph), bias: up.value("bias", in: graph),
            stride: stride, padding: OobleckLayers.blockPadding(stride: stride))
        for (index, dilation) in OobleckResidualUnit.dilations.enumerated() {
            x = try OobleckResidualUnit(weights: weights.scoped("res_unit\(index + 1)"), dilation: dilation)(graph, x)
        }
        return x
    }
}
