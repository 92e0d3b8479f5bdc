import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// transformers' `UMT5EncoderModel`: the UMT5 text encoder the Wan video models condition on (UMT5-XXL, run as
/// `text_encoder` by diffusers' `WanPipeline`); with a `t5` configuration, `T5EncoderModel` (t5-base, Stable Audio's
/// and MusicGen's text encoder), whose layers share layer 0's relative position bias.
///
/// The token embedding `shared` is gathered on the host from the memory-mapped table (`UMT5Embedding`), then
/// `num_layers` pre-norm layers (`UMT5Block`), each with its own relative position bias, and a final RMS norm give
/// `last_hidden_state` [B, L, d_model]. The attention mask (1 for tokens, 0 for padding, as the tokenizer returns it)
/// hides padded keys with f32's lowest value, as transformers does; padded positions still get outputs, which Wan's
/// pipeline then zeroes (`wanPromptEmbeds`).
///
/// Weights are read under transformers' names from whatever layout the file has (`UMT5KeyMap`). The forward pass is
/// recorded on one graph (`callAsFunction`, weights uploaded on first use and kept) or run layer by layer with each
/// layer's weights uploaded and dropped again (`streamedLastHiddenState`), so the 11 GB XXL encoder needs the
/// device memory of one layer (386 MB in bf16) beside its activations.
public final class UMT5EncoderModel: Sendable {
    public let configuration: UMT5Config
    /// The weights under transformers' names.
    let weights: DeviceWeights
    let embedding: UMT5Embedding
    /// The longest prompt accepted, in tokens (Wan pads and truncates to 512).
    public let maximumLength: Int

    /// Checks `configuration` and the shape of every tensor the encoder reads (each failure names the tensor, the
    /// shape the configuration implies and the one found); the weights upload on first use.
    public init(configuration: UMT5Config, weights: DeviceWeights, maximumLength: Int = 512) throws {
        let file = weights.store.sourceName
        try configuration.validate(source: file)
        guard maximumLength > 0 else {
            throw UMT5Error.invalidConfiguration(file: file, reason: "maximum length \(maximumLength) must be positive")
        }
        for (name, shape) in Self.parameterShapes(configuration) where name != "shared.weight" {
            try Self.check(name, shape: shape, in: weights, configuration: configuration)
        }
        let extra = "encoder.block.\(configuration.numLayers).layer.0.layer_norm.weight"
        if weights.contains(extra) {
            throw UMT5Error.weightsMismatch(
                file: file, tensor: extra,
                reason: "the file has more layers than "
                    + "num_layers \(configuration.numLayers)")
        }
        self.configuration = configuration
        self.weights = weights
        self.maximumLength = maximumLength
        embedding = try UMT5Embedding(configuration: configuration, weights: weights)
    }

    /// The encoder of a transformers folder (diffusers' `text_encoder/`): `config.json` and `model.safetensors`,
    /// or shards behind `model.safetensors.index.json`.
    public convenience init(folder: URL, device: GPUDevice, maximumLength: Int = 512) throws {
        let configuration = try UMT5Config.load(from: folder.appending(path: "config.json"))
        let store = try UMT5KeyMap.transformersNames(WeightFolder.open(folder))
        try self.init(
            configuration: configuration, weights: DeviceWeights(store: store, device: device),
            maximumLength: maximumLength)
    }

    /// The encoder in one weight file (ComfyUI's `umt5_xxl_fp16.safetensors`, Wan's original `.pth`), its
    /// configuration read off the tensor shapes unless given.
    public convenience init(file: URL, device: GPUDevice, configuration: UMT5Config? = nil, maximumLength: Int = 512)
        throws
    {
        let store = try UMT5KeyMap.transformersNames(WeightFile.open(file))
        try self.init(
            configuration: configuration ?? UMT5Config.inferred(from: store),
            weights: DeviceWeights(store: store, device: device), maximumLength: maximumLength)
    }

    /// Every tensor the encoder reads, under transformers' names, with the shape `configuration` gives it.
    public static func parameterShapes(_ configuration: UMT5Config) -> [(name: String, shape: [Int])] {
        let (width, inner, feedForward) = (configuration.dModel, configuration.innerDim, configuration.dFF)
        var shapes: [(name: String, shape: [Int])] = [("shared.weight", [configuration.vocabSize, width])]
        for index in 0..<configuration.numLayers {
            let layer = "encoder.block.\(index).layer."
            shapes += [
                (layer + "0.layer_norm.weight", [width]),
                (layer + "0.SelfAttention.q.weight", [inner, width]),
                (layer + "0.SelfAttention.k.weight", [inner, width]),
                (layer + "0.SelfAttention.v.weight", [inner, width]),
                (layer + "0.SelfAttention.o.weight", [width, inner]),
            ]
            if index == 0 || !configuration.sharesPositionBias {
                shapes.append(
                    (
                        layer + "0.SelfAttention.relative_attention_bias.weight",
                        [configuration.relativeAttentionNumBuckets, configuration.numHeads]
                    ))
            }
            shapes.append((layer + "1.layer_norm.weight", [width]))
            let inputs = configuration.isGatedAct ? ["wi_0", "wi_1"] : ["wi"]
            shapes += inputs.map { (layer + "1.DenseReluDense.\($0).weight", [feedForward, width]) }
            shapes.append((layer + "1.DenseReluDense.wo.weight", [width, feedForward]))
        }
        shapes.append(("encoder.final_layer_norm.weight", [width]))
        return shapes
    }

    /// Records the forward pass for `inputIDs` (B prompts of one length L) and returns `last_hidden_state`
    /// [B, L, d_model] f32.
    ///
    /// - Parameters:
    ///   - attentionMask: 1 for tokens, 0 for padding, shaped like `inputIDs`; nil attends to every token.
    /// - Throws: `UMT5Error` for an empty or ragged batch, L above `maximumLength`, an id outside the vocabulary or a
    ///   mask that does not fit the ids.
    public func callAsFunction(_ graph: Graph, inputIDs: [[Int]], attentionMask: [[Int]]? = nil) throws -> Value {
        try validate(inputIDs, attentionMask)
        var hidden = graph.input(try embedding.tensor(inputIDs, on: weights.device))
        let selector = try positionBias.selector(length: inputIDs[0].count, on: graph)
        let padding = try attentionMask.flatMap(UMT5RelativePositionBias.paddingMask).map {
            try graph.input($0.values, shape: $0.shape)
        }
        for index in 0..<configuration.numLayers {
            hidden = try block(index)(graph, hidden, selector: selector, padding: padding)
        }
        return try finalLayerNorm(graph, hidden)
    }

    /// Layer `index` (`encoder.block.<index>`).
    func block(_ index: Int) -> UMT5Block {
        let biasLayer = configuration.sharesPositionBias ? 0 : index
        return UMT5Block(
            configuration: configuration, weights: weights.scoped("encoder.block.\(index)"),
            positionBias: weights.scoped("encoder.block.\(biasLayer).layer.0.SelfAttention"))
    }

    var positionBias: UMT5RelativePositionBias { UMT5RelativePositionBias(configuration: configuration) }

    /// `encoder.final_layer_norm(x)`.
    func finalLayerNorm(_ graph: Graph, _ x: Value) throws -> Value {
        try UMT5LayerNorm(configuration: configuration, weights: weights.scoped("encoder.final_layer_norm"))(graph, x)
    }

    /// Checks a batch of ids and its mask.
    func validate(_ inputIDs: [[Int]], _ attentionMask: [[Int]]?) throws {
        guard let first = inputIDs.first, !first.isEmpty else { throw UMT5Error.emptyInput }
        for (row, ids) in inputIDs.enumerated() where ids.count != first.count {
            throw UMT5Error.raggedInput(row: row, length: ids.count, expected: first.count)
        }
        guard first.count <= maximumLength else {
            throw UMT5Error.sequenceTooLong(length: first.count, maximum: maximumLength)
        }
        for (row, ids) in inputIDs.enumerated() {
            for (position, id) in ids.enumerated() where id < 0 || id >= configuration.vocabSize {
                throw UMT5Error.tokenOutOfRange(
                    row: row, position: position, id: id,
                    vocabularySize: configuration.vocabSize)
            }
        }
        guard let attentionMask else { return }
        guard attentionMask.count == inputIDs.count else {
            throw UMT5Error.maskMismatch(reason: "\(attentionMask.count) mask rows for \(inputIDs.count) prompts")
        }
        for (row, mask) in attentionMask.enumerated() {
            guard mask.count == first.count else {
                throw UMT5Error.maskMismatch(
                    reason: "mask row \(row) has \(mask.count) values for \(first.count) "
                        + "token ids")
            }
            if let position = mask.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                throw UMT5Error.invalidMaskValue(row: row, position: position, value: mask[position])
            }
        }
    }

    /// Throws unless `weights` holds `name` with `shape`. A missing position bias past layer 0 where layer 0 has
    /// one is a T5 file (its layers share layer 0's bias), named as such.
    private static func check(_ name: String, shape: [Int], in weights: DeviceWeights, configuration: UMT5Config)
        throws
    {
        let file = weights.store.sourceName
        let full = weights.prefix.isEmpty ? name : "\(weights.prefix).\(name)"
        guard let info = try? weights.store.info(full) else {
            let firstBias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
            if name.hasSuffix("relative_attention_bias.weight"), name != firstBias, weights.contains(firstBias) {
                throw UMT5Error.weightsMismatch(
                    file: file, tensor: name,
                    reason: "missing: only layer 0 has a "
                        + "relative position bias, so this is a T5 encoder (as Flux, SD 3 and Stable Audio use), not "
                        + "UMT5, which has one per layer; its config.json says model_type t5")
            }
            throw WeightsError.missingTensor(file: file, tensor: full)
        }
        guard info.shape == shape else {
            throw UMT5Error.weightsMismatch(
                file: file, tensor: full,
                reason: "expected shape \(shape) for d_model \(configuration.dModel), \(configuration.numHeads) "
                    + "heads of d_kv \(configuration.dKV), d_ff \(configuration.dFF), "
                    + "\(configuration.relativeAttentionNumBuckets) buckets; found \(info.shape)")
        }
    }
}
