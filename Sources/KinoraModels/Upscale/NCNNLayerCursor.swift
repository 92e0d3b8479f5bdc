import KinoraFormats

/// Walks an ncnn layer graph in file order the way a network's forward reads, skipping the `Input` and `Split`
/// bookkeeping layers, and checks each layer against what the architecture expects; every mismatch names the file
/// and the layer. This is how Kinora recognises the networks it runs natively: it does not interpret arbitrary ncnn
/// graphs.
struct NCNNLayerCursor {
    let model: NCNNModel
    private(set) var index = 0

    init(model: NCNNModel) {
        self.model = model
    }

    private var file: String { model.paramURL.path }

    /// The next layer that is not `Input` or `Split`, nil at the end.
    mutating func peek() -> NCNNLayer? {
        while index < model.layers.count, ["Input", "Split"].contains(model.layers[index].type) { index += 1 }
        return index < model.layers.count ? model.layers[index] : nil
    }

    /// Consumes the next layer, which must be of `type`.
    mutating func next(_ type: String, _ role: String) throws -> NCNNLayer {
        guard let layer = peek() else {
            throw UpscaleError.unsupportedGraph(
                file: file, layer: model.layers.last?.name ?? "",
                reason: "the graph ends where \(role) (\(type)) was expected")
        }
        guard layer.type == type else {
            throw UpscaleError.unsupportedGraph(
                file: file, layer: layer.name, reason: "a \(layer.type) layer where \(role) (\(type)) was expected")
        }
        index += 1
        return layer
    }

    /// Whether the graph has no more layers to run.
    mutating func atEnd() -> Bool { peek() == nil }

    /// An error naming `layer` and the file.
    func failure(_ layer: NCNNLayer, _ reason: String) -> UpscaleError {
        .unsupportedGraph(file: file, layer: layer.name, reason: "\(layer.type) \(reason)")
    }

    /// A 3×3, stride-1, padding-1 convolution with a bias: `inputs` → the layer's `num_output` channels, its
    /// fused activation none (0) or leaky ReLU (2, slope in parameter 10). Returns the layer, its output channels
    /// and the leaky slope if any.
    mutating func convolution3x3(inputs: Int, outputs: Int? = nil, _ role: String) throws
        -> (layer: NCNNLayer, outputs: Int, leakySlope: Float?)
    {
        let layer = try next("Convolution", role)
        let p = layer.parameters
        guard let count = p.int(0), count > 0 else { throw failure(layer, "has no output channel count") }
        if let outputs, count != outputs {
            throw failure(layer, "has \(count) output channels; \(role) has \(outputs)")
        }
        let kernelW = p.int(1) ?? 0
        guard kernelW == 3, (p.int(11, default: kernelW) ?? 0) == 3, (p.int(2, default: 1) ?? 0) == 1,
            (p.int(3, default: 1) ?? 0) == 1, (p.int(4) ?? 0) == 1, (p.int(14, default: 1) ?? 0) == 1,
            (p.int(5) ?? 0) == 1
        else {
            throw failure(layer, "is not a 3×3 convolution with stride 1, padding 1 and a bias, as \(role) is")
        }
        let shape = try model.info("\(layer.name).weight").shape
        guard shape == [count, inputs, 3, 3] else {
            throw failure(layer, "has weights \(shape); \(role) reads \(inputs) channels: [\(count), \(inputs), 3, 3]")
        }
        switch p.int(9) ?? -1 {
        case 0:
            return (layer, count, nil)
        case 2:
            guard let slopes = p.floats(10), slopes.count == 1, slopes[0].isFinite else {
                throw failure(layer, "has a leaky ReLU without one finite slope")
            }
            return (layer, count, slopes[0])
        case let other:
            throw failure(layer, "has fused activation type \(other); only none (0) and leaky ReLU (2) are used here")
        }
    }
}
