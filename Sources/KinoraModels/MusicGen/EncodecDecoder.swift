import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// The decode path of transformers' `EncodecModel` (MusicGen's audio tokenizer): codes [codebooks][frames] →
/// audio, as `EncodecModel.decode(codes, [None])` gives it (one chunk, no scales). The quantizer sums each
/// codebook's entry on the host (`EncodecQuantizer`); SEANet's decoder (`EncodecSEANetDecoder`) runs on a `Graph`
/// with transformers' weight names, the weight norm folded at load time (`EncodecKeyMap`).
///
/// `decode(codes:arena:)` is the whole decode, in pieces for long audio (see `EncodecDecoder+Chunks.swift`);
/// `embeddings(codes:)` and `decode(_:embeddings:)` are its two halves for a caller that records graphs itself.
public final class EncodecDecoder: Sendable {
    public let configuration: EncodecConfig
    /// The weights under `EncodecModel`'s names (no `audio_encoder.` prefix, weight norm folded).
    public let weights: DeviceWeights
    let quantizer: EncodecQuantizer
    let decoder: EncodecSEANetDecoder

    /// Checks `configuration` and the shape of every tensor the decoder reads (each failure names the tensor, the
    /// shape the configuration implies and the one found), and that `decoder.*` holds no tensor the configuration
    /// has no place for (the encoder's and the quantizer's training buffers are left alone); the weights upload on
    /// first use. `weights` must be under `EncodecModel`'s names: open files through `init(folder:device:)` or
    /// `EncodecKeyMap.layerNames`.
    public init(configuration: EncodecConfig, weights: DeviceWeights) throws {
        let file = weights.store.sourceName
        try configuration.validate(source: file)
        let shapes = Self.parameterShapes(configuration)
        let decoderShapes = shapes.filter { $0.name.hasPrefix("decoder.") }.map {
            (name: String($0.name.dropFirst("decoder.".count)), shape: $0.shape)
        }
        func mismatch(_ tensor: String, _ reason: String) -> EncodecError {
            .weightsMismatch(file: file, tensor: tensor, reason: reason)
        }
        switch weights.scoped("decoder").layoutMismatch(decoderShapes) {
        case nil: break
        case .missing(let tensor, let shape):
            let stem = tensor.dropLast("weight".count)
            let saved =
                tensor.hasSuffix(".conv.weight")
                ? " (saved as '\(stem)parametrizations.weight.original0' / 'original1' or '\(stem)weight_g' / "
                    + "'weight_v')" : ""
            throw mismatch(tensor, "missing\(saved); expected shape \(shape) for \(configuration.summary)")
        case .wrongShape(let tensor, let expected, let found):
            throw mismatch(tensor, "expected shape \(expected) for \(configuration.summary), found \(found)")
        case .extra(let tensor, let shape):
            throw mismatch(
                tensor, "shape \(shape) has no place in \(configuration.summary) (a codec of another size or layout)")
        }
        let scope = weights.prefix.isEmpty ? "" : weights.prefix + "."
        for (name, shape) in shapes where name.hasPrefix("quantizer.") {
            guard let info = try? weights.store.info(scope + name) else {
                throw mismatch(scope + name, "missing; expected shape \(shape) for \(configuration.summary)")
            }
            guard info.shape == shape else {
                throw mismatch(
                    scope + name, "expected shape \(shape) for \(configuration.summary), found \(info.shape)")
            }
            guard [.f32, .f16, .bf16].contains(info.dtype) else {
                throw mismatch(scope + name, "dtype \(info.dtype.rawValue): a codebook must be F32, F16 or BF16")
            }
        }
        self.configuration = configuration
        self.weights = weights
        quantizer = EncodecQuantizer(configuration: configuration, weights: weights)
        decoder = EncodecSEANetDecoder(weights: weights.scoped("decoder"), configuration: configuration)
    }

    /// The codec of a transformers folder: a standalone EnCodec's (`facebook/encodec_32khz`: `config.json` and
    /// `model.safetensors`) or a MusicGen's (`facebook/musicgen-small`: the codec under `audio_encoder` in
    /// `config.json` and under `audio_encoder.` in the weights, beside the text encoder and the decoder).
    public convenience init(folder: URL, device: GPUDevice) throws {
        let configuration = try EncodecConfig.load(from: folder.appending(path: "config.json"))
        let store = try EncodecKeyMap.layerNames(WeightFolder.open(folder))
        try self.init(configuration: configuration, weights: DeviceWeights(store: store, device: device))
    }

    // MARK: Decoding

    /// The summed codebook entries of `codes` ([codebooks][frames]: 1 to `num_quantizers` codebooks, every row one
    /// code per frame): [codebook_dim, frames] row-major, the decoder's input for one item. Throws
    /// `EncodecError.invalidCodes` for codes it cannot decode.
    public func embeddings(codes: [[Int]]) throws -> [Float] {
        try quantizer.embeddings(codes)
    }

    /// The audio [N, audio_channels, T · hop_length] of `embeddings` [N, hidden_size, T] (summed codebook entries)
    /// as one graph. Its largest activations are audio_channels … num_filters wide at the audio rate: for a long
    /// decode use `decode(codes:arena:)`, which runs the convolutions in pieces.
    public func decode(_ graph: Graph, embeddings: Value) throws -> Value {
        try decoder.upsample(graph, head(graph, embeddings))
    }

    /// The first convolution and the LSTM: [N, hidden_size, T] → [N, widest, T].
    func head(_ graph: Graph, _ embeddings: Value) throws -> Value {
        let channels = configuration.hiddenSize
        guard embeddings.rank == 3, embeddings.shape[1] == channels, embeddings.shape[0] >= 1,
            embeddings.shape[2] >= 1
        else {
            throw EncodecError.invalidInput(
                shape: embeddings.shape, reason: "expected embeddings [N, \(channels), T] (hidden_size)")
        }
        return try decoder.head(graph, embeddings)
    }

    // MARK: Shapes

    /// Every tensor the decode reads, under `EncodecModel`'s names (weight norm folded), with the shape
    /// `configuration` gives it: the quantizer's codebooks, then the SEANet decoder's layers in transformers' order.
    public static func parameterShapes(_ c: EncodecConfig) -> [(name: String, shape: [Int])] {
        var shapes: [(name: String, shape: [Int])] = (0..<c.numQuantizers).map {
            (EncodecQuantizer.table($0), [c.codebookSize, c.codebookDim])
        }
        func conv(_ name: String, _ out: Int, _ input: Int, _ kernel: Int) {
            shapes += [("decoder.\(name).conv.weight", [out, input, kernel]), ("decoder.\(name).conv.bias", [out])]
        }
        let widths = c.decoderWidths
        conv("layers.0", widths[0], c.hiddenSize, c.kernelSize)
        let lstm = widths[0]
        for layer in 0..<c.numLstmLayers {
            for kind in ["ih", "hh"] {
                shapes.append(("decoder.layers.1.lstm.weight_\(kind)_l\(layer)", [4 * lstm, lstm]))
            }
            for kind in ["ih", "hh"] { shapes.append(("decoder.layers.1.lstm.bias_\(kind)_l\(layer)", [4 * lstm])) }
        }
        for (index, stride) in c.upsamplingRatios.enumerated() {
            let layer = EncodecSEANetDecoder.blockLayer(index, c)
            let (wide, narrow) = (widths[index], widths[index + 1])
            // A transposed convolution's weight is [in, out, k].
            shapes += [
                ("decoder.layers.\(layer + 1).conv.weight", [wide, narrow, 2 * stride]),
                ("decoder.layers.\(layer + 1).conv.bias", [narrow]),
            ]
            for offset in 0..<c.numResidualLayers {
                let block = "layers.\(layer + 2 + offset)"
                conv("\(block).block.1", narrow / c.compress, narrow, c.residualKernelSize)
                conv("\(block).block.3", narrow, narrow / c.compress, 1)
                if c.useConvShortcut { conv("\(block).shortcut", narrow, narrow, 1) }
            }
        }
        conv(
            "layers.\(EncodecSEANetDecoder.blockLayer(c.upsamplingRatios.count, c) + 1)", c.audioChannels,
            c.numFilters, c.lastKernelSize)
        return shapes
    }
}
