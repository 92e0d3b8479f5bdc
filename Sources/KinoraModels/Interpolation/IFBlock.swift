import KinoraTensor

/// One of IFNet's intermediate-flow blocks at a scale s: the input (and the flow so far, divided by s) resized to
/// 1/s, two stride-2 3×3 convolutions to c channels, eight residual blocks `leaky_relu(conv(x)·β + x)`, a transposed
/// convolution and a pixel shuffle back to 1/s with 13 channels, resized to full size: flow (4 channels, times s),
/// mask (1) and features (8).
struct IFBlock {
    let channels: Int
    let inputChannels: Int
    let down: [(weight: Tensor, bias: Tensor)]
    let residual: [(weight: Tensor, bias: Tensor)]
    let up: (weight: Tensor, bias: Tensor)

    /// The outputs of one block.
    struct Output {
        var flow: Value
        var mask: Value
        var features: Value
    }

    init(_ weights: IFNetWeights, index: Int) throws {
        let name = "block\(index)"
        let firstInfo = try weights.tensorInfo("\(name).conv0.0.0.weight")
        guard firstInfo.shape.count == 4 else {
            throw RIFEError.unsupportedCheckpoint(
                file: weights.store.sourceName, tensor: "\(name).conv0.0.0.weight",
                reason: "has shape \(firstInfo.shape), not a 2-D convolution's")
        }
        inputChannels = firstInfo.shape[1]
        let first = try weights.convolution("\(name).conv0.0.0", inputs: inputChannels)
        let second = try weights.convolution("\(name).conv0.1.0", inputs: first.outputs, outputs: 2 * first.outputs)
        let channels = second.outputs
        self.channels = channels
        down = [(first.weight, first.bias), (second.weight, second.bias)]
        residual = try (0..<8).map { k in
            let beta = try weights.channelScale("\(name).convblock.\(k).beta", channels: channels)
            let conv = try weights.convolution(
                "\(name).convblock.\(k).conv", inputs: channels, outputs: channels,
                channelScale: beta)
            return (conv.weight, conv.bias)
        }
        up = try weights.transposedConvolution("\(name).lastconv.0", inputs: channels, outputs: 4 * 13)
    }

    /// `x` [N, C, H, W] and the flow so far [N, 4, H, W] (none for the first block) at scale `scale` (H and W
    /// multiples of 4·scale).
    func callAsFunction(_ graph: Graph, _ x: Value, flow: Value?, scale: Int) throws -> Output {
        let (height, width) = (x.shape[2], x.shape[3])
        let factor = Double(scale)
        func shrink(_ value: Value) throws -> Value {
            guard scale != 1 else { return value }
            return try graph.resize(
                value, height: height / scale, width: width / scale, filter: .bilinear,
                scale: (factor, factor))
        }
        var input = try shrink(x)
        if let flow {
            input = try graph.concat([input, graph.scale(shrink(flow), by: 1 / Float(scale))], axis: 1)
        }
        var h = input
        for layer in down {
            h = try graph.conv2d(
                h, weight: graph.input(layer.weight), bias: graph.input(layer.bias), stride: (2, 2),
                padding: (1, 1), epilogue: ConvEpilogue(activation: .leakyReLU(slope: 0.2)))
        }
        for layer in residual {
            h = try graph.conv2d(
                h, weight: graph.input(layer.weight), bias: graph.input(layer.bias), padding: (1, 1),
                epilogue: ConvEpilogue(
                    activation: .leakyReLU(slope: 0.2), residual: h,
                    residualBeforeActivation: true))
        }
        var out = try graph.conv2d(h, weight: graph.input(up.weight), bias: graph.input(up.bias), padding: (1, 1))
        out = try graph.pixelShuffle(graph.pixelShuffle(out, factor: 2), factor: 2)
        if scale != 1 {
            out = try graph.resize(
                out, height: height, width: width, filter: .bilinear,
                scale: (1 / factor, 1 / factor))
        }
        return Output(
            flow: try graph.scale(graph.slice(out, axis: 1, start: 0, length: 4), by: Float(scale)),
            mask: try graph.slice(out, axis: 1, start: 4, length: 1),
            features: try graph.slice(out, axis: 1, start: 5, length: 8))
    }
}
