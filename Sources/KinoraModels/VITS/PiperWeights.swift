import Foundation
import KinoraFormats

/// The initializers of a Piper `.onnx` export under the names of Piper's PyTorch modules (`enc_p.emb.weight`,
/// `flow.flows.0.enc.in_layers.0.weight`, ...), so the VITS blocks read their parameters as Piper's code names them.
///
/// `torch.onnx.export` keeps most parameter names but not all: weights it computed at export (weight-normed
/// convolutions) become `onnx::Conv_N`, the text embedding may take the name of an unused graph input (`sid` in
/// Piper's single-speaker exports), and constant-folded expressions replace parameters (`exp(-logs)` of the duration
/// predictor's `ElementwiseAffine`). Those are found through the node that consumes them: a node named
/// `/flow/flows.0/enc/in_layers.0/Conv` belongs to module `flow.flows.0.enc.in_layers.0`.
final class PiperWeights: WeightStore {
    private enum Source {
        case initializer(String)
        /// Values computed at load time from a folded initializer.
        case derived(shape: [Int], values: [Float])
    }

    let onnx: ONNXFile
    let tensorNames: [String]
    private let sources: [String: Source]
    /// Conv and ConvTranspose nodes by the module path in their name.
    private let modules: [String: ONNXNode]

    init(onnx: ONNXFile) throws {
        self.onnx = onnx
        var sources: [String: Source] = [:]
        // Parameters the export kept: "module.parameter" (constants the exporter made start with "/" or "onnx::",
        // or are bare numbers).
        for name in onnx.tensorNames where name.contains(".") && !name.hasPrefix("/") && !name.hasPrefix("onnx::") {
            sources[name] = .initializer(name)
        }
        var modules: [String: ONNXNode] = [:]
        for node in onnx.nodes {
            guard let module = Self.module(of: node) else { continue }
            let parameters: [String: String]
            switch node.opType {
            case "Conv", "ConvTranspose":
                // Conv(x, weight, bias).
                modules[module] = node
                parameters = Dictionary(zip(["weight", "bias"], node.inputs.dropFirst())) { first, _ in first }
            case "Gather":
                // An embedding lookup is Gather(table, ids) with a float matrix table.
                guard let table = node.inputs.first, let tensor = onnx.initializers[table],
                      tensor.dataType == .float, tensor.shape.count == 2 else { continue }
                parameters = ["weight": table]
            default:
                continue
            }
            for (parameter, input) in parameters where onnx.initializers[input] != nil {
                if sources["\(module).\(parameter)"] == nil { sources["\(module).\(parameter)"] = .initializer(input) }
            }
        }
        self.modules = modules
        if sources["dp.flows.0.logs"] == nil, let folded = try Self.foldedAffineScale(onnx) {
            sources["dp.flows.0.logs"] = folded
        }
        self.sources = sources
        tensorNames = sources.keys.sorted()
    }

    var sourceName: String { onnx.sourceName }

    func info(_ name: String) throws -> WeightTensorInfo {
        switch sources[name] {
        case .initializer(let source):
            let info = try onnx.info(source)
            return WeightTensorInfo(name: name, dtype: info.dtype, shape: info.shape, dataRange: info.dataRange)
        case .derived(let shape, let values):
            return WeightTensorInfo(name: name, dtype: .f32, shape: shape, dataRange: 0..<(values.count * 4))
        case nil:
            throw VITSError.notAPiperVoice(file: sourceName, reason: "tensor '\(name)' is missing")
        }
    }

    func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        switch sources[name] {
        case .initializer(let source): return try onnx.withBytes(of: source, body)
        case .derived(_, let values): return try values.withUnsafeBytes(body)
        case nil: throw VITSError.notAPiperVoice(file: sourceName, reason: "tensor '\(name)' is missing")
        }
    }

    /// Whether `name` is present.
    func contains(_ name: String) -> Bool { sources[name] != nil }

    /// The shape of `name`, or `notAPiperVoice` naming it.
    func shape(_ name: String) throws -> [Int] { try info(name).shape }

    /// The Conv/ConvTranspose node of `module` (e.g. `dec.ups.0`), whose attributes record strides and dilations.
    func convolution(_ module: String) -> ONNXNode? {
        modules[module]
    }

    /// The numbers N for which `"\(prefix)N\(suffix)"` is present, ascending (`enc_p.encoder.attn_layers.` +
    /// `.conv_q.weight` gives the encoder's layers).
    func indices(_ prefix: String, _ suffix: String) -> [Int] {
        tensorNames.compactMap { name in
            guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else {
                return nil
            }
            return Int(name.dropFirst(prefix.count).dropLast(suffix.count))
        }.sorted()
    }

    /// The float values of a scalar initializer that node `op` under module path `module` reads (e.g. the tail
    /// bound in `/dp/flows.7/LessOrEqual`), nil when there is no such node.
    func scalarOperand(op: String, module: String) throws -> Float? {
        for node in onnx.nodes where node.opType == op && Self.module(of: node) == module {
            for input in node.inputs {
                guard let tensor = onnx.initializers[input], tensor.elementCount == 1 else { continue }
                return try onnx.floats(input).first
            }
        }
        return nil
    }

    /// `a/b.c/d/Conv` → `a.b.c.d` (torch.onnx names nodes by their module path, joined with "/").
    private static func module(of node: ONNXNode) -> String? {
        let parts = node.name.split(separator: "/")
        guard node.name.hasPrefix("/"), parts.count >= 2 else { return nil }
        return parts.dropLast().joined(separator: ".")
    }

    /// `ElementwiseAffine.logs` of the duration predictor, recovered from the folded `exp(-logs)` that the reverse
    /// pass multiplies by (`(x - m) * exp(-logs)`): the initializer other than `m` read by a `Mul` in `/dp/flows.0/`.
    private static func foldedAffineScale(_ onnx: ONNXFile) throws -> Source? {
        for node in onnx.nodes where node.opType == "Mul" && module(of: node) == "dp.flows.0" {
            for input in node.inputs where input != "dp.flows.0.m" {
                guard let tensor = onnx.initializers[input], tensor.shape == (try? onnx.info("dp.flows.0.m").shape)
                else { continue }
                let scale = try onnx.floats(input)
                guard scale.allSatisfy({ $0 > 0 }) else { continue }
                return .derived(shape: tensor.shape, values: scale.map { -Foundation.log($0) })
            }
        }
        return nil
    }
}
