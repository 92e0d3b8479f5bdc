import KinoraFormats
import KinoraGPU
import KinoraTensor

/// MusicGen's decoder with its language-model heads (transformers' `MusicgenForCausalLM`) and the projection of the
/// text states into its width (`enc_to_dec_proj` of `MusicgenForConditionalGeneration`).
///
/// Each position's input is the sum of one embedding per codebook (row `vocab_size` is the pad/BOS code) plus a
/// sinusoidal position; each position's output is one row of logits per codebook. The embeddings are gathered on
/// the host from the memory-mapped file (a call needs B·K·L rows); everything else runs on the device, with the
/// self-attention keys and values filled into a `MusicGenKVCache` in place.
public final class MusicGenDecoder {
    public let configuration: MusicGenDecoderConfig
    /// The width of the text encoder's states.
    public let textWidth: Int
    /// The causal LM's weights (`model.decoder.*`, `lm_heads.*`).
    let weights: DeviceWeights
    /// `enc_to_dec_proj` (weight and bias), when the text width differs from the decoder's.
    let projection: DeviceWeights?
    let embeddingTables: [(name: String, dtype: WeightDType)]

    /// Checks every tensor's shape against `configuration` (each failure names the tensor and the file).
    /// - Parameters:
    ///   - weights: scoped at the causal LM (`decoder` in a MusicGen checkpoint).
    ///   - projection: scoped at `enc_to_dec_proj`; required when `textWidth` differs from the hidden size.
    public init(configuration: MusicGenDecoderConfig, textWidth: Int, weights: DeviceWeights,
                projection: DeviceWeights?) throws {
        let file = weights.store.sourceName
        try configuration.validate(source: file)
        let width = configuration.hiddenSize
        let projects = textWidth != width && configuration.crossAttentionHiddenSize == nil
        switch weights.layoutMismatch(Self.parameterShapes(configuration)) {
        case .missing(let tensor, let shape):
            throw MusicGenError.weightsMismatch(file: file, tensor: tensor, reason: "missing (expected shape \(shape))")
        case .wrongShape(let tensor, let expected, let found):
            throw MusicGenError.weightsMismatch(file: file, tensor: tensor,
                                                reason: "expected shape \(expected), found \(found)")
        case .extra, nil:
            break
        }
        if projects {
            guard let projection else {
                throw MusicGenError.weightsMismatch(file: file, tensor: "enc_to_dec_proj.weight", reason: "missing: "
                    + "the text states (width \(textWidth)) need projecting to the decoder's \(width)")
            }
            for (name, shape) in [("weight", [width, textWidth]), ("bias", [width])] {
                let info = try? projection.store.info(Self.qualified(projection, name))
                guard info?.shape == shape else {
                    throw MusicGenError.weightsMismatch(
                        file: file, tensor: Self.qualified(projection, name),
                        reason: "expected shape \(shape), found \(info.map { "\($0.shape)" } ?? "nothing")")
                }
            }
        } else if textWidth != (configuration.crossAttentionHiddenSize ?? width) {
            throw MusicGenError.invalidConfiguration(
                file: file, reason: "the text encoder's width \(textWidth) differs from the decoder's cross-attention "
                    + "width \(configuration.crossAttentionHiddenSize ?? width)")
        }
        guard configuration.crossAttentionHiddenSize == nil || configuration.crossAttentionHiddenSize == width else {
            throw MusicGenError.invalidConfiguration(
                file: file, reason: "decoder.cross_attention_hidden_size other than hidden_size is not supported")
        }
        var tables: [(String, WeightDType)] = []
        for codebook in 0..<configuration.numCodebooks {
            let name = Self.qualified(weights, "model.decoder.embed_tokens.\(codebook).weight")
            let dtype = try weights.store.info(name).dtype
            guard [.f32, .f16, .bf16].contains(dtype) else {
                throw WeightsError.unsupportedDType(file: file, tensor: name, dtype: dtype.rawValue)
            }
            tables.append((name, dtype))
        }
        self.configuration = configuration
        self.textWidth = textWidth
        self.weights = weights
        self.projection = projects ? projection : nil
        embeddingTables = tables
    }

    /// Every tensor the decoder reads under the causal LM's scope, with its shape.
    public static func parameterShapes(_ configuration: MusicGenDecoderConfig) -> [(name: String, shape: [Int])] {
        let (width, vocabulary, ffn) = (configuration.hiddenSize, configuration.vocabSize, configuration.ffnDim)
        var shapes: [(String, [Int])] = []
        for codebook in 0..<configuration.numCodebooks {
            shapes.append(("model.decoder.embed_tokens.\(codebook).weight", [vocabulary + 1, width]))
            shapes.append(("lm_heads.\(codebook).weight", [vocabulary, width]))
        }
        for layer in 0..<configuration.numHiddenLayers {
            let prefix = "model.decoder.layers.\(layer)."
            for attention in ["self_attn", "encoder_attn"] {
                for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    shapes.append((prefix + "\(attention).\(projection).weight", [width, width]))
                }
            }
            for norm in ["self_attn_layer_norm", "encoder_attn_layer_norm", "final_layer_norm"] {
                shapes.append((prefix + "\(norm).weight", [width]))
                shapes.append((prefix + "\(norm).bias", [width]))
            }
            shapes.append((prefix + "fc1.weight", [ffn, width]))
            shapes.append((prefix + "fc2.weight", [width, ffn]))
        }
        shapes.append(("model.decoder.layer_norm.weight", [width]))
        shapes.append(("model.decoder.layer_norm.bias", [width]))
        return shapes
    }

    private static func qualified(_ weights: DeviceWeights, _ name: String) -> String {
        weights.prefix.isEmpty ? name : "\(weights.prefix).\(name)"
    }

    private func layer(_ index: Int) -> MusicGenDecoderLayer {
        MusicGenDecoderLayer(configuration: configuration, weights: weights.scoped("model.decoder.layers.\(index)"))
    }

    /// A cache for `capacity` positions of a batch conditioned on `textStates` [B, L_text, textWidth] (the text
    /// encoder's output, rows of the unconditional half all zeros) with `textMask` [B][L_text] (1 for a token, 0 for
    /// padding and for every unconditional row): the states are projected, zeroed where masked (as transformers
    /// does), and each layer's cross-attention keys and values computed once. The passes over the cache run in the
    /// activation type of `precision` (`activationType`), which the cache's keys and values are stored in.
    public func makeCache(
        textStates: Tensor, textMask: [[Int]], capacity: Int, arena: ActivationArena,
        precision: ActivationPrecision? = nil
    ) throws -> MusicGenKVCache {
        let (batch, length) = (textStates.shape[0], textStates.shape[1])
        guard textStates.shape == [batch, length, textWidth], textMask.count == batch,
              textMask.allSatisfy({ $0.count == length }) else {
            throw MusicGenError.invalidSetting("text states \(textStates.shape) and mask do not match the text width "
                + "\(textWidth)")
        }
        guard (1...configuration.maxPositionEmbeddings * 64).contains(capacity) else {
            throw MusicGenError.invalidSetting("a cache of \(capacity) positions is out of range")
        }
        let activations = activationType(precision)
        let graph = Graph(arena: arena)
        graph.activationDType = activations
        var states = graph.input(textStates)
        if let projection {
            states = try graph.linear(
                states, weight: projection.value("weight", in: graph, shape: [configuration.hiddenSize, textWidth]),
                bias: projection.value("bias", in: graph, shape: [configuration.hiddenSize]))
        }
        let keep = textMask.joined().map { Float($0 == 0 ? 0 : 1) }
        states = try graph.multiply(states, graph.input(keep, shape: [batch, length, 1]))
        var outputs: [Value] = []
        for index in 0..<configuration.numHiddenLayers {
            let (key, value) = try layer(index).textKeysAndValues(graph, states)
            outputs += [key, value]
        }
        let tensors = try graph.run(outputs)
        let additive = textMask.joined().map { $0 == 0 ? -Float.infinity : 0 }
        let width = configuration.hiddenSize
        let device = arena.device
        return MusicGenKVCache(
            keys: try (0..<configuration.numHiddenLayers).map { _ in
                try Tensor.unwritten(shape: [batch, capacity, width], dtype: activations, on: device)
            },
            values: try (0..<configuration.numHiddenLayers).map { _ in
                try Tensor.unwritten(shape: [batch, capacity, width], dtype: activations, on: device)
            },
            textKeys: stride(from: 0, to: tensors.count, by: 2).map { tensors[$0] },
            textValues: stride(from: 1, to: tensors.count, by: 2).map { tensors[$0] },
            textMask: try Tensor(additive, shape: [batch, 1, 1, length], on: device), capacity: capacity,
            activations: activations)
    }

    /// Feeds `codes` [B][K][L] (codes 0..<vocab_size, or the pad code vocab_size) at the cache's next L positions and
    /// returns the logits [B, L_out, K, vocab_size] of the last position (`allPositions` false, L_out 1) or of all,
    /// computed in the cache's activation type (and rounded to it, as transformers' logits are in the model's dtype).
    public func logits(_ codes: [[[Int]]], cache: MusicGenKVCache, arena: ActivationArena, allPositions: Bool = false)
        throws -> [Float] {
        let (batch, codebooks) = (codes.count, configuration.numCodebooks)
        let length = codes.first?.first?.count ?? 0
        guard batch == cache.keys.first?.shape[0], length > 0,
              codes.allSatisfy({ $0.count == codebooks && $0.allSatisfy { $0.count == length } }) else {
            throw MusicGenError.invalidSetting("codes must be [\(cache.keys.first?.shape[0] ?? 0)][\(codebooks)][L] "
                + "with L > 0")
        }
        guard cache.filled + length <= cache.capacity else {
            throw MusicGenError.invalidSetting(
                "position \(cache.filled + length) is past the cache's \(cache.capacity)")
        }
        let pad = configuration.padTokenID
        for code in codes.joined().joined() where !(0...pad).contains(code) {
            throw MusicGenError.invalidSetting("code \(code) is outside 0...\(pad)")
        }
        let graph = Graph(arena: arena)
        graph.activationDType = cache.activations
        let inputs = try graph.input(
            embeddings(codes, start: cache.filled), shape: [batch, length, configuration.hiddenSize])
        let logits = try record(
            graph, inputs: inputs, start: cache.filled, cache: cache.values(in: graph), allPositions: allPositions)
        let values = try graph.run([logits])[0].floats()
        cache.filled += length
        return values
    }

    /// The cache's tensors as graph values: per layer the self-attention keys and values [B, capacity, hidden] and
    /// the text's [B, L_text, hidden], and the text mask [B, 1, 1, L_text] (placeholders when planning).
    public struct CacheValues {
        var keys: [Value]
        var values: [Value]
        var textKeys: [Value]
        var textValues: [Value]
        var textMask: Value
    }

    /// Records the decoder over `inputs` [B, L, hidden] (summed embeddings and positions) at positions
    /// `start..<start + L`, writing its keys and values into `cache`: the logits [B, L_out, K, vocab_size] of the
    /// last position, or of all with `allPositions`.
    func record(_ graph: Graph, inputs: Value, start: Int, cache: CacheValues, allPositions: Bool) throws -> Value {
        let (batch, length, width) = (inputs.shape[0], inputs.shape[1], configuration.hiddenSize)
        var hidden = inputs
        for index in 0..<configuration.numHiddenLayers {
            hidden = try layer(index)(
                graph, hidden, start: start, keys: cache.keys[index], values: cache.values[index],
                text: (cache.textKeys[index], cache.textValues[index]), textMask: cache.textMask)
        }
        if !allPositions, length > 1 { hidden = try graph.slice(hidden, axis: 1, start: length - 1, length: 1) }
        let norm = weights.scoped("model.decoder.layer_norm")
        hidden = try graph.layerNorm(
            hidden, weight: norm.value("weight", in: graph, shape: [width]),
            bias: norm.value("bias", in: graph, shape: [width]))
        let heads = try (0..<configuration.numCodebooks).map { codebook in
            try graph.reshape(
                graph.linear(hidden, weight: weights.scoped("lm_heads.\(codebook)").value(
                    "weight", in: graph, shape: [configuration.vocabSize, width])),
                [batch, hidden.shape[1], 1, configuration.vocabSize])
        }
        return try graph.concat(heads, axis: 2)
    }

    /// The summed codebook embeddings plus positions for `codes` at positions `start...`, [B, L, hidden] row-major.
    private func embeddings(_ codes: [[[Int]]], start: Int) throws -> [Float] {
        let (batch, length, width) = (codes.count, codes[0][0].count, configuration.hiddenSize)
        var sums = [Float](repeating: 0, count: batch * length * width)
        for (codebook, table) in embeddingTables.enumerated() {
            let rowBytes = width * table.dtype.size
            try weights.store.withBytes(of: table.name) { bytes in
                for b in 0..<batch {
                    for position in 0..<length {
                        let id = codes[b][codebook][position]
                        let row = TensorDecoding.floats(
                            UnsafeRawBufferPointer(rebasing: bytes[(id * rowBytes)..<((id + 1) * rowBytes)]),
                            dtype: table.dtype, count: width)
                        let base = (b * length + position) * width
                        for i in 0..<width { sums[base + i] += row[i] }
                    }
                }
            }
        }
        let positions = MusicGenPositions.rows(start: start, count: length, width: width)
        for b in 0..<batch {
            for i in 0..<(length * width) { sums[b * length * width + i] += positions[i] }
        }
        return sums
    }
}
