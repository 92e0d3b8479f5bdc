import KinoraTensor

extension StableAudioProjectionModel {
    /// Records Stable Audio's conditioning as its pipeline runs it: `textEncoder` (T5) over the prompts' `ids` in its
    /// activation type at `precision`, the padding rows zeroed by `attentionMask` (`torch.where` in diffusers'
    /// `encode_prompt`), then this model's text and seconds projections in its own type. Returns the DiT's text and
    /// seconds tokens [B, L + 2, D] and global token [B, 1, 2D] in this model's activation type. The pipeline, its
    /// memory planner and `kinora bench model sao` all record the conditioning here, so the plan is of what runs.
    public func recordConditioning(_ graph: Graph, textEncoder: UMT5EncoderModel, ids: [[Int]],
                                   attentionMask: [[Int]], secondsStart: [Float], secondsEnd: [Float],
                                   precision: ActivationPrecision?) throws -> (tokens: Value, global: Value) {
        let rows = ids.count, length = ids.first?.count ?? 0
        graph.activationDType = textEncoder.activationType(precision)
        var text = try textEncoder(graph, inputIDs: ids, attentionMask: attentionMask)
        graph.activationDType = activationType(precision)
        let mask = try graph.input(attentionMask.flatMap { $0.map(Float.init) }, shape: [rows, length])
        text = try graph.multiply(text, graph.reshape(mask, [rows, length, 1]))
        let (tokens, global) = try conditioning(graph, text: text, textMask: mask, secondsStart: secondsStart,
                                                secondsEnd: secondsEnd)
        return (tokens, global)
    }
}
