import KinoraFormats
import KinoraTensor

/// Real-ESRGAN's `SRVGGNetCompact` (`realesrgan/archs/srvgg_arch.py`; the `realesr-animevideov3` models): a 3×3
/// convolution to `features` channels, `bodyConvolutions` more 3×3 convolutions, each followed by a PReLU, a last
/// 3×3 convolution to 3·r² channels, a pixel shuffle by r, plus the input upsampled by r (nearest).
struct SRVGGNetCompact {
    /// One convolution and the activation fused into it.
    struct Layer {
        var name: String
        var epilogueSlopes: String?
        var leakySlope: Float?
    }

    let features: Int
    let upscale: Int
    let layers: [Layer]
    let weights: DeviceWeights

    /// Every pixel of the output depends on input pixels at most this far away (one per 3×3 convolution), so
    /// tiles with this much context give exactly the untiled result.
    var receptiveRadius: Int { layers.count }

    /// Reads the network from `cursor`'s graph (from the first convolution to the skip's add).
    init(cursor: inout NCNNLayerCursor, weights: DeviceWeights) throws {
        let first = try cursor.convolution3x3(inputs: 3, "the first convolution")
        features = first.outputs
        var layers = [Layer(name: first.layer.name, epilogueSlopes: nil, leakySlope: first.leakySlope)]
        // Each body convolution is followed by its PReLU; the last convolution (3·r² outputs) by the shuffle.
        while true {
            let prelu = try cursor.next("PReLU", "the activation after '\(layers[layers.count - 1].name)'")
            let slopes = try cursor.model.info("\(prelu.name).slope").shape
            guard slopes == [features] else {
                throw cursor.failure(prelu, "has \(slopes) slopes; it follows a convolution of \(features) channels")
            }
            guard layers[layers.count - 1].leakySlope == nil else {
                throw cursor.failure(prelu, "follows a convolution with a fused activation")
            }
            layers[layers.count - 1].epilogueSlopes = "\(prelu.name).slope"
            let conv = try cursor.convolution3x3(inputs: features, "a body or the last convolution")
            layers.append(Layer(name: conv.layer.name, epilogueSlopes: nil, leakySlope: conv.leakySlope))
            if conv.outputs != features {
                let shuffle = try cursor.next("PixelShuffle", "the pixel shuffle")
                guard let factor = shuffle.parameters.int(0), factor >= 1, (shuffle.parameters.int(1) ?? 1) == 0,
                    conv.outputs == 3 * factor * factor, conv.leakySlope == nil
                else {
                    throw cursor.failure(
                        shuffle,
                        "does not turn the last convolution's \(conv.outputs) channels "
                            + "into 3 by a PyTorch-order shuffle")
                }
                upscale = factor
                break
            }
        }
        let skip = try cursor.next("Interp", "the nearest upsampling of the input")
        let p = skip.parameters
        guard p.int(0) == 1, p.float(1, default: 1) == Float(upscale), p.float(2, default: 1) == Float(upscale),
            (p.int(3) ?? 0) == 0, (p.int(4) ?? 0) == 0
        else { throw cursor.failure(skip, "is not a nearest ×\(upscale) upsampling") }
        let add = try cursor.next("BinaryOp", "the add of the skip")
        guard (add.parameters.int(0) ?? -1) == 0, (add.parameters.int(1) ?? -1) == 0 else {
            throw cursor.failure(add, "is not a plain add of two tensors")
        }
        self.layers = layers
        self.weights = weights
    }

    /// `x` [N, 3, H, W] in [0, 1] → [N, 3, H·r, W·r].
    func forward(_ graph: Graph, _ x: Value) throws -> Value {
        var h = x
        for layer in layers {
            var activation = ConvEpilogue.Activation.none
            if let slopes = layer.epilogueSlopes {
                activation = .prelu(slopes: graph.input(try weights.tensor(slopes)))
            } else if let slope = layer.leakySlope {
                activation = .leakyReLU(slope: slope)
            }
            h = try graph.conv2d(
                h, weight: graph.input(try weights.tensor("\(layer.name).weight")),
                bias: graph.input(try weights.tensor("\(layer.name).bias")), padding: (1, 1),
                epilogue: ConvEpilogue(activation: activation))
        }
        let shuffled = try graph.pixelShuffle(h, factor: upscale)
        return try graph.add(shuffled, graph.upsampleNearest(x, factorH: upscale, factorW: upscale))
    }
}
