import KinoraTensor

extension PiperVoice {
    /// Piper's `attentions.MultiHeadAttention` as the text encoder uses it: self-attention over [1, C, T] with 1×1
    /// convolutions for q, k, v and the output, and windowed relative positions (Shaw et al. 2018): learned
    /// embeddings `emb_rel_k`/`emb_rel_v` for offsets −window…window add to the scores and to the output. The
    /// relative/absolute index shuffles are Piper's pad-reshape-slice steps, so positions beyond the window read
    /// zeros exactly as there. One utterance has no padding, so the attention mask is all ones and is left out.
    struct MultiHeadAttention: Sendable {
        let weights: DeviceWeights
        let channels: Int
        let heads: Int
        let windowSize: Int
        let relativeHeads: Int

        var headChannels: Int { channels / heads }

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let length = x.shape[2]
            let query = try headsFirst(graph, VITSLayers.conv(graph, x, weights.scoped("conv_q")), length: length)
            let key = try headsFirst(graph, VITSLayers.conv(graph, x, weights.scoped("conv_k")), length: length)
            let value = try headsFirst(graph, VITSLayers.conv(graph, x, weights.scoped("conv_v")), length: length)
            let scaledQuery = try graph.scale(query, by: 1 / Float(headChannels).squareRoot())

            var scores = try graph.matmul(scaledQuery, key, transposeB: true)
            let keyRelative = try relativeEmbeddings(graph, "emb_rel_k", length: length)
            let relativeLogits = try graph.matmul(scaledQuery, keyRelative, transposeB: true)
            scores = try graph.add(scores, relativeToAbsolute(graph, relativeLogits, length: length))
            let attention = try graph.softmax(scores, axis: -1)

            var output = try graph.matmul(attention, value)
            let relativeWeights = try absoluteToRelative(graph, attention, length: length)
            let valueRelative = try relativeEmbeddings(graph, "emb_rel_v", length: length)
            output = try graph.add(output, graph.matmul(relativeWeights, valueRelative))
            let merged = try graph.reshape(graph.transpose(output, 1, 2), [1, channels, length])
            return try VITSLayers.conv(graph, merged, weights.scoped("conv_o"))
        }

        /// [1, C, T] → [heads, T, C / heads].
        private func headsFirst(_ graph: Graph, _ x: Value, length: Int) throws -> Value {
            try graph.transpose(graph.reshape(x, [heads, headChannels, length]), 1, 2)
        }

        /// `_get_relative_embeddings`: the 2·T − 1 offsets −(T − 1)…T − 1 of an embedding table over
        /// −window…window, zero beyond the window: [relative heads, 2T − 1, C / heads].
        private func relativeEmbeddings(_ graph: Graph, _ name: String, length: Int) throws -> Value {
            var table = try weights.value(name, in: graph, shape: [relativeHeads, 2 * windowSize + 1, headChannels])
            let padding = max(length - (windowSize + 1), 0)
            let start = max((windowSize + 1) - length, 0)
            if padding > 0 {
                let zeros = try VITSLayers.zeros(graph, [relativeHeads, padding, headChannels])
                table = try graph.concat([zeros, table, zeros], axis: 1)
            }
            return try graph.slice(table, axis: 1, start: start, length: 2 * length - 1)
        }

        /// `_relative_position_to_absolute_position`: [h, T, 2T − 1] → [h, T, T].
        private func relativeToAbsolute(_ graph: Graph, _ x: Value, length: Int) throws -> Value {
            let rows = x.shape[0]
            let padded = try graph.concat([x, VITSLayers.zeros(graph, [rows, length, 1])], axis: 2)
            var flat = try graph.reshape(padded, [rows, 2 * length * length])
            if length > 1 { flat = try graph.concat([flat, VITSLayers.zeros(graph, [rows, length - 1])], axis: 1) }
            let skewed = try graph.reshape(flat, [rows, length + 1, 2 * length - 1])
            return try graph.slice(graph.slice(skewed, axis: 1, start: 0, length: length), axis: 2,
                                   start: length - 1, length: length)
        }

        /// `_absolute_position_to_relative_position`: [h, T, T] → [h, T, 2T − 1].
        private func absoluteToRelative(_ graph: Graph, _ x: Value, length: Int) throws -> Value {
            let rows = x.shape[0]
            let padded = length > 1
                ? try graph.concat([x, VITSLayers.zeros(graph, [rows, length, length - 1])], axis: 2) : x
            let flat = try graph.concat([VITSLayers.zeros(graph, [rows, length]),
                                         graph.reshape(padded, [rows, length * (2 * length - 1)])], axis: 1)
            return try graph.slice(graph.reshape(flat, [rows, length, 2 * length]), axis: 2, start: 1,
                                   length: 2 * length - 1)
        }
    }
}
