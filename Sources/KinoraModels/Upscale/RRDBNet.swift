import KinoraFormats
import KinoraTensor

/// BasicSR's `RRDBNet` (`basicsr/archs/rrdbnet_arch.py`; `RealESRGAN_x4plus` with 23 blocks, the anime model with
/// 6): `conv_first`; `blocks` residual-in-residual dense blocks, each three dense blocks of five 3×3 convolutions
/// (the first four growing the features by `growth` channels with leaky ReLU 0.2, the fifth back to `features`,
/// `x5 · 0.2 + x`), then `· 0.2 + x` around the three; `conv_body` plus the skip from `conv_first`; two nearest ×2
/// upsamplings each followed by a convolution and leaky ReLU; `conv_hr` with leaky ReLU; `conv_last` to RGB.
struct RRDBNet {
    /// A 3×3 convolution and its fused leaky slope.
    struct Convolution {
        var name: String
        var leakySlope: Float?
    }

    /// The five convolutions of one dense block and the scale of its residual.
    struct DenseBlock {
        var convolutions: [Convolution]
        var residualScale: Float
    }

    let features: Int
    let growth: Int
    let first: Convolution
    let blocks: [(dense: [DenseBlock], residualScale: Float)]
    let body: Convolution
    let upsampling: [Convolution]
    let high: Convolution
    let last: Convolution
    let weights: DeviceWeights

    /// The network's integer scale: one ×2 per upsampling stage.
    var upscale: Int { 1 << upsampling.count }

    init(cursor: inout NCNNLayerCursor, weights: DeviceWeights) throws {
        let firstConv = try cursor.convolution3x3(inputs: 3, "conv_first")
        guard firstConv.leakySlope == nil else { throw cursor.failure(firstConv.layer, "has an activation") }
        features = firstConv.outputs
        first = Convolution(name: firstConv.layer.name, leakySlope: nil)
        var growth = 0
        var blocks: [(dense: [DenseBlock], residualScale: Float)] = []
        // Blocks until the convolution that is not a dense block's first (conv_body: features → features).
        while true {
            guard let probe = cursor.peek(), probe.type == "Convolution",
                let outputs = probe.parameters.int(0), outputs != features
            else { break }
            var dense: [DenseBlock] = []
            var lastSum: NCNNLayer?
            for _ in 0..<3 {
                var conv5: NCNNLayer?
                var convolutions: [Convolution] = []
                var channels = features
                for position in 0..<5 {
                    if position > 0 { _ = try cursor.next("Concat", "the dense block's concatenation") }
                    let conv = try cursor.convolution3x3(
                        inputs: channels, outputs: position == 4 ? features : (growth == 0 ? nil : growth),
                        "dense convolution \(position + 1)")
                    if growth == 0 { growth = conv.outputs }
                    guard (position < 4) == (conv.leakySlope != nil) else {
                        throw cursor.failure(
                            conv.layer,
                            "has the wrong activation for dense convolution "
                                + "\(position + 1) (leaky ReLU on the first four only)")
                    }
                    convolutions.append(Convolution(name: conv.layer.name, leakySlope: conv.leakySlope))
                    channels += growth
                    conv5 = conv.layer
                }
                let sum = try Self.residualSum(&cursor, scaling: conv5!)
                dense.append(DenseBlock(convolutions: convolutions, residualScale: sum.scale))
                lastSum = sum.layer
            }
            blocks.append((dense, try Self.residualSum(&cursor, scaling: lastSum!).scale))
        }
        guard !blocks.isEmpty else {
            throw UpscaleError.unsupportedGraph(
                file: cursor.model.paramURL.path, layer: firstConv.layer.name,
                reason: "no residual-in-residual dense block follows conv_first")
        }
        self.growth = growth
        self.blocks = blocks
        let bodyConv = try cursor.convolution3x3(inputs: features, outputs: features, "conv_body")
        body = Convolution(name: bodyConv.layer.name, leakySlope: bodyConv.leakySlope)
        let add = try cursor.next("BinaryOp", "the add of conv_first's skip")
        guard (add.parameters.int(0) ?? -1) == 0, (add.parameters.int(1) ?? -1) == 0 else {
            throw cursor.failure(add, "is not a plain add of two tensors")
        }
        var upsampling: [Convolution] = []
        while cursor.peek()?.type == "Interp" {
            let interp = try cursor.next("Interp", "a nearest ×2 upsampling")
            let p = interp.parameters
            guard p.int(0) == 1, p.float(1, default: 1) == 2, p.float(2, default: 1) == 2 else {
                throw cursor.failure(interp, "is not a nearest ×2 upsampling")
            }
            let conv = try cursor.convolution3x3(inputs: features, outputs: features, "conv_up\(upsampling.count + 1)")
            upsampling.append(Convolution(name: conv.layer.name, leakySlope: conv.leakySlope))
        }
        self.upsampling = upsampling
        let highConv = try cursor.convolution3x3(inputs: features, outputs: features, "conv_hr")
        high = Convolution(name: highConv.layer.name, leakySlope: highConv.leakySlope)
        let lastConv = try cursor.convolution3x3(inputs: features, outputs: 3, "conv_last")
        last = Convolution(name: lastConv.layer.name, leakySlope: lastConv.leakySlope)
        self.weights = weights
    }

    /// An `Eltwise` sum `a · s + b · 1` (the residual scaling) whose `a` is the output of `scaled`; returns it
    /// and s.
    private static func residualSum(_ cursor: inout NCNNLayerCursor, scaling scaled: NCNNLayer) throws
        -> (layer: NCNNLayer, scale: Float)
    {
        let sum = try cursor.next("Eltwise", "a scaled residual sum")
        guard sum.parameters.int(0) == 1, let coefficients = sum.parameters.floats(1), coefficients.count == 2,
            coefficients[1] == 1, coefficients[0].isFinite, sum.bottoms.count == 2,
            sum.bottoms[0] == scaled.tops.first
        else { throw cursor.failure(sum, "is not a sum a · s + b with a the output of '\(scaled.name)'") }
        return (sum, coefficients[0])
    }

    private func convolve(
        _ graph: Graph, _ x: Value, _ conv: Convolution, residual: Value? = nil,
        scale: Float = 1
    ) throws -> Value {
        let activation = conv.leakySlope.map { ConvEpilogue.Activation.leakyReLU(slope: $0) } ?? .none
        return try graph.conv2d(
            x, weight: graph.input(try weights.tensor("\(conv.name).weight")),
            bias: graph.input(try weights.tensor("\(conv.name).bias")), padding: (1, 1),
            epilogue: ConvEpilogue(activation: activation, residual: residual, outputScale: scale))
    }

    /// `x` [N, 3, H, W] in [0, 1] → [N, 3, H·r, W·r].
    func forward(_ graph: Graph, _ x: Value) throws -> Value {
        let feature = try convolve(graph, x, first)
        var h = feature
        for block in blocks {
            let blockInput = h
            for dense in block.dense {
                var pieces = [h]
                for (position, conv) in dense.convolutions.enumerated() {
                    let input = pieces.count == 1 ? pieces[0] : try graph.concat(pieces, axis: 1)
                    if position == 4 {
                        h = try convolve(graph, input, conv, residual: h, scale: dense.residualScale)
                    } else {
                        pieces.append(try convolve(graph, input, conv))
                    }
                }
            }
            h = try graph.add(graph.scale(h, by: block.residualScale), blockInput)
        }
        h = try convolve(graph, h, body, residual: feature, scale: 1)
        for conv in upsampling { h = try convolve(graph, graph.upsampleNearest2x(h), conv) }
        return try convolve(graph, convolve(graph, h, high), last)
    }
}
