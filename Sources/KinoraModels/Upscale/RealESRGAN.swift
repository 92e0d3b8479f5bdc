import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// A Real-ESRGAN upscaler read from its ncnn `.param`/`.bin` files and run on Kinora's kernels: the network
/// (SRVGGNetCompact or RRDBNet, recognised from the graph) and, for models such as `realesr-animevideov3-x2/-x3`,
/// the bicubic resize that follows it in the graph. Activations are stored as `activationDType`, by default the
/// weights' type (ncnn's fp16 files run fp16, as realesrgan-ncnn-vulkan and Real-ESRGAN's `half` inference do).
public final class RealESRGAN: @unchecked Sendable {
    /// The network a graph holds.
    enum Network {
        case compact(SRVGGNetCompact)
        case rrdb(RRDBNet)
    }

    /// The model's name (the file name without `.param`).
    public let name: String
    let network: Network
    /// The factor of the bicubic resize after the network (ncnn's `Interp 0=3`), nil when there is none.
    private(set) var resizeFactor: Float?
    let model: NCNNModel
    let weights: DeviceWeights
    /// The storage type of the activations its graphs record (f32, f16 or bf16).
    public let activationDType: DType

    /// The precision the network at `paramURL` (its `.bin` beside it) runs its activations in: `requested`, else
    /// its weights' storage type, as `init` resolves it. Reads the files' layers and weight headers, uploads
    /// nothing.
    public static func activationPrecision(paramURL: URL, requested: ActivationPrecision?) throws
        -> ActivationPrecision {
        // Only `auto` needs the weights' type, and so the files.
        if let requested { return requested }
        let model = try NCNNModel(paramURL: paramURL, binURL: bin(beside: paramURL))
        return ActivationPrecision.matching(weights: model.storageType())
    }

    /// The `.bin` of the ncnn graph at `paramURL`: the same name with `.bin`.
    private static func bin(beside paramURL: URL) -> URL {
        paramURL.deletingPathExtension().appendingPathExtension("bin")
    }

    /// Reads `paramURL` and its `.bin` (`binURL`, else the same name with `.bin`) and recognises the network.
    /// Weights upload to `device` on first use, in their file type (ncnn's fp16 stays fp16). `outputScale` asks for
    /// an overall factor other than the network's, reached with a bicubic resize after it (as the x2/x3 graphs do);
    /// for a graph that ends in its own resize it must be that graph's factor. Activations run in `precision`, by
    /// default the weights' storage type.
    public init(paramURL: URL, binURL: URL? = nil, outputScale: Int? = nil, precision: ActivationPrecision? = nil,
                device: GPUDevice) throws {
        model = try NCNNModel(paramURL: paramURL, binURL: binURL ?? Self.bin(beside: paramURL))
        name = paramURL.deletingPathExtension().lastPathComponent
        weights = DeviceWeights(store: model, device: device)
        activationDType = ActivationPrecision.resolve(precision, weights: model.storageType()).dtype
        var cursor = NCNNLayerCursor(model: model)
        guard let input = model.layers.first, input.type == "Input" else {
            throw UpscaleError.unsupportedGraph(
                file: paramURL.path, layer: model.layers.first?.name ?? "",
                reason: "the graph does not start with its Input layer")
        }
        // SRVGGNetCompact's body alternates convolutions and PReLUs; RRDBNet's starts with a dense block.
        let secondType = model.layers.dropFirst().first { !["Input", "Split", "Convolution"].contains($0.type) }?.type
        network =
            secondType == "PReLU"
            ? .compact(try SRVGGNetCompact(cursor: &cursor, weights: weights))
            : .rrdb(try RRDBNet(cursor: &cursor, weights: weights))
        if let resize = cursor.peek(), resize.type == "Interp" {
            _ = try cursor.next("Interp", "the final resize")
            let p = resize.parameters
            guard p.int(0) == 3, let factor = p.float(1), factor == p.float(2), factor > 0, factor.isFinite,
                (p.int(3) ?? 0) == 0, (p.int(4) ?? 0) == 0, (p.int(6) ?? 0) == 0
            else { throw cursor.failure(resize, "is not a bicubic resize by one factor on both axes") }
            resizeFactor = factor
        } else {
            resizeFactor = nil
        }
        if let extra = cursor.peek() {
            throw cursor.failure(extra, "follows the network's output; Kinora runs SRVGGNetCompact and RRDBNet only")
        }
        guard let outputScale else { return }
        let networkScale: Int
        switch network {
        case .compact(let net): networkScale = net.upscale
        case .rrdb(let net): networkScale = net.upscale
        }
        let own = Float(networkScale) * (resizeFactor ?? 1)
        guard outputScale >= 1, outputScale <= networkScale else {
            throw UpscaleError.invalidImage(
                reason: "scale \(outputScale) is not between 1 and the \(name) network's \(networkScale)")
        }
        if resizeFactor != nil, Float(outputScale) != own {
            throw UpscaleError.invalidImage(
                reason: "\(name) upscales by \(own), not \(outputScale); pick the model "
                    + "file of scale \(outputScale)")
        }
        if outputScale != networkScale { resizeFactor = Float(outputScale) / Float(networkScale) }
    }

    /// The overall factor: the network's, times the final resize's.
    public var scale: Float { Float(networkScale) * (resizeFactor ?? 1) }

    /// Uploads every weight now (otherwise each uploads on first use), so the memory left for tiles can be measured.
    public func uploadWeights() throws {
        for name in model.tensorNames { _ = try weights.tensor(name) }
    }

    /// The network's integer factor (4 for every Real-ESRGAN model).
    public var networkScale: Int {
        switch network {
        case .compact(let net): return net.upscale
        case .rrdb(let net): return net.upscale
        }
    }

    /// `SRVGGNetCompact` or `RRDBNet`.
    public var architecture: String {
        switch network {
        case .compact: return "SRVGGNetCompact"
        case .rrdb: return "RRDBNet"
        }
    }

    /// The output size for an input of `height` × `width`, as ncnn computes it (the network's factor, then
    /// the resize's `Int(size · factor)`).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let (h, w) = (height * networkScale, width * networkScale)
        guard let factor = resizeFactor else { return (h, w) }
        return (Int(Float(h) * factor), Int(Float(w) * factor))
    }

    /// The input pixels of context each side of a tile that make it exactly the untiled result, when the network
    /// has such a bound small enough to use (SRVGGNetCompact: one per convolution); nil for RRDBNet, whose hundreds
    /// of convolutions make the exact margin larger than any useful tile.
    public var exactContext: Int? {
        switch network {
        case .compact(let net): return net.receptiveRadius
        case .rrdb: return nil
        }
    }

    /// The network on `x` [N, 3, H, W] (RGB in [0, 1]), without the final resize: [N, 3, H·r, W·r], recorded with
    /// activations of `activationDType` (the input cast to it first).
    func network(_ graph: Graph, _ x: Value) throws -> Value {
        try graph.withActivations(activationDType) {
            let x = try graph.cast(x, to: activationDType)
            switch network {
            case .compact(let net): return try net.forward(graph, x)
            case .rrdb(let net): return try net.forward(graph, x)
            }
        }
    }

    /// The whole model on `x` [N, 3, H, W] (RGB in [0, 1]): the network, then the final resize if there is one;
    /// the result is of `activationDType` (`Tensor.floats()` reads any).
    public func forward(_ graph: Graph, _ x: Value) throws -> Value {
        let y = try network(graph, x)
        guard resizeFactor != nil else { return y }
        let size = outputSize(height: x.shape[2], width: x.shape[3])
        return try graph.withActivations(activationDType) {
            try graph.resize(y, height: size.height, width: size.width, filter: .bicubic)
        }
    }
}
