import KinoraGPU
import KinoraTensor

/// The prompt embeddings diffusers' `WanPipeline._get_t5_prompt_embeds` (0.42.1) makes from the encoder's output:
/// with `seq_lens = mask.gt(0).sum(dim=1)`, each prompt keeps its first `seq_len` rows of `last_hidden_state` and is
/// zero-padded to `max_sequence_length` (512), so the padded positions are exactly zero.
extension UMT5EncoderModel {
    /// The sequence length Wan's pipelines pad prompts to and its transformer cross-attends over.
    public static let wanMaxSequenceLength = 512

    /// Records diffusers' trim and zero padding of `lastHiddenState` [B, L, d_model] → [B, maxSequenceLength,
    /// d_model], each prompt's kept length counted from its `attentionMask` row (values > 0).
    public static func wanPromptEmbeds(
        _ graph: Graph, lastHiddenState: Value, attentionMask: [[Int]],
        maxSequenceLength: Int = wanMaxSequenceLength
    ) throws -> Value {
        guard lastHiddenState.rank == 3 else {
            throw UMT5Error.invalidHiddenState(shape: lastHiddenState.shape)
        }
        let (batch, length, width) = (lastHiddenState.shape[0], lastHiddenState.shape[1], lastHiddenState.shape[2])
        guard attentionMask.count == batch, attentionMask.allSatisfy({ $0.count == length }) else {
            throw UMT5Error.maskMismatch(
                reason: "\(attentionMask.count) mask rows of lengths "
                    + "\(Set(attentionMask.map(\.count)).sorted()) for last_hidden_state \(lastHiddenState.shape)")
        }
        let kept = try keptLengths(attentionMask, maxSequenceLength: maxSequenceLength)
        let rows = try kept.enumerated().map { row, count -> Value in
            let sample = try graph.slice(lastHiddenState, axis: 0, start: row, length: 1)
            var parts: [Value] = []
            if count > 0 { parts.append(try graph.slice(sample, axis: 1, start: 0, length: count)) }
            if count < maxSequenceLength {
                let padding = maxSequenceLength - count
                parts.append(
                    try graph.input([Float](repeating: 0, count: padding * width), shape: [1, padding, width]))
            }
            return try graph.concat(parts, axis: 1)
        }
        return try graph.concat(rows, axis: 0)
    }

    /// Wan's prompt embeddings [B, maxSequenceLength, d_model] for the tokenizer's ids and attention mask (padded to
    /// one length, 512 in Wan's pipelines): `wanPromptEmbeds` over `last_hidden_state`.
    ///
    /// The encoder runs only over the columns up to the last attended token of any prompt: every row kept sees only
    /// attended keys, and its relative position bias depends on distances alone, so the padding beyond changes no
    /// kept value (`UMT5PaddingTests` measures it). With `streamed` the layers stream their weights. The encoder runs
    /// in `precision`'s activation type (by default its weights', `activationType`); the embeddings are f32.
    public func wanPromptEmbeds(
        inputIDs: [[Int]], attentionMask: [[Int]], maxSequenceLength: Int = wanMaxSequenceLength,
        arena: ActivationArena, streamed: Bool = true, precision: ActivationPrecision? = nil
    ) throws -> Tensor {
        try validate(inputIDs, attentionMask)
        _ = try Self.keptLengths(attentionMask, maxSequenceLength: maxSequenceLength)
        let used = attentionMask.map { row in (row.lastIndex { $0 != 0 } ?? -1) + 1 }.max() ?? 0
        let width = configuration.dModel
        guard used > 0 else {
            return try Tensor(
                [Float](repeating: 0, count: inputIDs.count * maxSequenceLength * width),
                shape: [inputIDs.count, maxSequenceLength, width], on: weights.device)
        }
        let ids = inputIDs.map { Array($0.prefix(used)) }
        let mask = attentionMask.map { Array($0.prefix(used)) }
        let hidden: Tensor
        if streamed {
            hidden = try streamedLastHiddenState(inputIDs: ids, attentionMask: mask, arena: arena, precision: precision)
        } else {
            let graph = Graph(arena: arena)
            graph.activationDType = activationType(precision)
            hidden = try graph.run([self(graph, inputIDs: ids, attentionMask: mask)])[0]
        }
        let graph = Graph(arena: arena)
        let embeds = try Self.wanPromptEmbeds(
            graph, lastHiddenState: graph.cast(graph.input(hidden), to: .f32), attentionMask: mask,
            maxSequenceLength: maxSequenceLength)
        return try graph.run([embeds])[0]
    }

    /// diffusers' `seq_lens`: the count of mask values > 0 per prompt, each checked to fit `maxSequenceLength`.
    private static func keptLengths(_ attentionMask: [[Int]], maxSequenceLength: Int) throws -> [Int] {
        try attentionMask.enumerated().map { row, mask in
            let count = mask.filter { $0 > 0 }.count
            guard count <= maxSequenceLength else {
                throw UMT5Error.promptTooLongForWan(row: row, length: count, maximum: maxSequenceLength)
            }
            return count
        }
    }
}
