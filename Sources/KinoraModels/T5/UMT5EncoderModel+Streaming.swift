import KinoraFormats
import KinoraGPU
import KinoraTensor

/// Weights streamed layer by layer: the encoder run as one piece per layer and one for the final norm
/// (`StreamedPass`), each recorded on a graph of its own over the hidden states carried from the piece before, run,
/// and its weights dropped again. The device holds one layer's weights at a time (the embedding table never goes to
/// the device), beside the hidden states, the bucket selector and the padding mask. The ops, their order and their
/// inputs are those of the resident pass, so the output is the same bit for bit; the price is uploading every
/// layer's weights again on each call, which an encoder run once per prompt hardly pays.
extension UMT5EncoderModel {
    /// The device tensors every piece reads.
    struct StreamedInputs {
        /// The embeddings [B, L, d_model].
        var hidden: Tensor
        /// `UMT5RelativePositionBias.selector` for L tokens.
        var selector: Tensor
        /// The padding mask [B, 1, 1, L], nil when nothing is padding.
        var padding: Tensor?
    }

    /// `last_hidden_state` [B, L, d_model] f32 for `inputIDs`, computed layer by layer with streamed weights (see
    /// `callAsFunction` for the inputs and the errors); the activations use `arena`, trimmed after every layer, in
    /// the type of `precision` (by default the weights', `activationType`).
    public func streamedLastHiddenState(
        inputIDs: [[Int]], attentionMask: [[Int]]? = nil, arena: ActivationArena,
        precision: ActivationPrecision? = nil
    ) throws -> Tensor {
        try validate(inputIDs, attentionMask)
        let device = weights.device
        let length = inputIDs[0].count
        let inputs = StreamedInputs(
            hidden: try embedding.tensor(inputIDs, on: device),
            selector: try Tensor(
                positionBias.selectorValues(length: length),
                shape: [configuration.relativeAttentionNumBuckets, length * length], dtype: .f16,
                on: device),
            padding: try attentionMask.flatMap(UMT5RelativePositionBias.paddingMask).map {
                try Tensor($0.values, shape: $0.shape, on: device)
            })
        return try streamedPass(
            inputs, StreamedPass(weights: weights, arena: arena, mode: .run), activations: activationType(precision))
    }

    /// The device bytes a streamed pass over `batch` prompts of `length` tokens reaches at its highest (padded:
    /// with an attention mask that hides some keys), worked out without running anything: each layer's weights are
    /// uploaded while it is planned, then dropped. The figure includes what is live when it is called.
    public func plannedStreamedPeak(batch: Int, length: Int, padded: Bool) throws -> UInt64 {
        try plannedStreamedPass(batch: batch, length: length, padded: padded).peakBytes
    }

    /// `plannedStreamedPeak`, and the largest single buffer the pass allocates beside the weights (an input, a
    /// carried hidden state, an arena slot or an output), to hold against the device's largest buffer.
    public func plannedStreamedPass(batch: Int, length: Int, padded: Bool, precision: ActivationPrecision? = nil)
        throws -> (peakBytes: UInt64, largestBufferBytes: UInt64)
    {
        let device = weights.device
        let inputs = StreamedInputs(
            hidden: try Tensor(
                [Float](repeating: 0, count: batch * length * configuration.dModel),
                shape: [batch, length, configuration.dModel], on: device),
            selector: try Tensor(
                positionBias.selectorValues(length: length),
                shape: [configuration.relativeAttentionNumBuckets, length * length], dtype: .f16,
                on: device),
            padding: padded
                ? try Tensor(
                    [Float](repeating: 0, count: batch * length), shape: [batch, 1, 1, length],
                    on: device) : nil)
        let pass = StreamedPass(weights: weights, arena: ActivationArena(device: device), mode: .plan)
        let output = try streamedPass(inputs, pass, activations: activationType(precision))
        let carried = [inputs.hidden, inputs.selector, output] + (inputs.padding.map { [$0] } ?? [])
        return (pass.peakBytes, carried.map { UInt64($0.byteCount) }.reduce(pass.largestBufferBytes, max))
    }

    /// Bytes of the largest layer's weights in their file dtypes: the most weights streaming holds on the device.
    public var largestStreamedLayerBytes: Int {
        (0..<configuration.numLayers).map { bytes(under: "encoder.block.\($0)") }.max() ?? 0
    }

    /// Bytes of every tensor the encoder reads, the embedding table included, in their file dtypes.
    public var weightBytes: Int {
        Self.parameterShapes(configuration).map { name, _ in bytes(under: name) }.reduce(0, +)
    }

    private func streamedPass(_ inputs: StreamedInputs, _ pass: StreamedPass, activations: DType) throws -> Tensor {
        var hidden = inputs.hidden
        for index in 0..<configuration.numLayers {
            let input = hidden
            hidden = try pass.value { graph in
                graph.activationDType = activations
                return try block(index)(
                    graph, graph.input(input), selector: graph.input(inputs.selector),
                    padding: inputs.padding.map(graph.input))
            }
        }
        let output = hidden
        return try pass.value { graph in
            graph.activationDType = activations
            return try finalLayerNorm(graph, graph.input(output))
        }
    }

    /// File bytes of the tensors under the name `scope` (a tensor or a module).
    private func bytes(under scope: String) -> Int {
        let store = weights.store
        let full = weights.prefix.isEmpty ? scope : "\(weights.prefix).\(scope)"
        return store.tensorNames.filter { $0 == full || $0.hasPrefix(full + ".") }.reduce(0) { total, name in
            total + ((try? store.info(name).byteCount) ?? 0)
        }
    }
}
