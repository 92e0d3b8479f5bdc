import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanAttentionBlock`: single-head self-attention over the pixels of each frame on its own,
    /// `x + proj(attention(to_qkv(norm(x))))`, with 1×1 convolutions for `to_qkv` (q, k, v stacked along the output
    /// channels) and `proj`, and scale 1/√C.
    ///
    /// Widths up to `fusedHeadDim` (the flash kernel's limit, 256) use `Graph.attention`; wider ones (the real
    /// VAEs' 384, 640 and 1024) run as explicit scores `softmax(q·kᵀ/√C)·v` in chunks of query rows whose score
    /// matrix stays under `scoreChunkBytes`.
    struct AttentionBlock: Sendable {
        let weights: DeviceWeights
        let channels: Int
        let fusedHeadDim: Int
        static let scoreChunkBytes = 64 << 20

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let (batch, frames, height, width) = (x.shape[0], x.shape[2], x.shape[3], x.shape[4])
            let (images, pixels) = (batch * frames, height * width)
            var h = try RMSNorm(weights: weights.scoped("norm"))(graph, x)
            // [B, C, T, H·W] → [B·T, H·W, C]: one sequence of pixels per frame.
            h = try graph.reshape(
                graph.permute(graph.reshape(h, [batch, channels, frames, pixels]), [0, 2, 3, 1]),
                [images, pixels, channels])
            let qkv = try linear(graph, weights.scoped("to_qkv"), outputs: 3 * channels)
            let (query, key, value) = try (
                graph.linear(h, weight: qkv.weights[0], bias: qkv.biases[0]),
                graph.linear(h, weight: qkv.weights[1], bias: qkv.biases[1]),
                graph.linear(h, weight: qkv.weights[2], bias: qkv.biases[2])
            )
            let scale = 1 / Float(channels).squareRoot()
            if channels <= fusedHeadDim {
                h = try graph.attention(query: query, key: key, value: value, heads: 1, scale: scale)
            } else {
                let rows = max(1, min(pixels, Self.scoreChunkBytes / (4 * images * pixels)))
                let scaled = try graph.scale(query, by: scale)
                h = try graph.concat(
                    stride(from: 0, to: pixels, by: rows).map { start in
                        let chunk = try graph.slice(scaled, axis: 1, start: start, length: min(rows, pixels - start))
                        let scores = try graph.softmax(graph.matmul(chunk, key, transposeB: true))
                        return try graph.matmul(scores, value)
                    }, axis: 1)
            }
            let projection = try linear(graph, weights.scoped("proj"), outputs: channels)
            h = try graph.linear(h, weight: projection.weights[0], bias: projection.biases[0])
            h = try graph.permute(graph.reshape(h, [batch, frames, pixels, channels]), [0, 3, 1, 2])
            return try graph.add(graph.reshape(h, x.shape), x)
        }

        /// A 1×1 convolution's weight [outputs, C, 1, 1] read as `outputs / C` linear weights [C, C] and biases.
        private func linear(_ graph: Graph, _ weights: DeviceWeights, outputs: Int) throws
            -> (weights: [Value], biases: [Value])
        {
            let weight = try graph.reshape(
                weights.value("weight", in: graph, shape: [outputs, channels, 1, 1]),
                [outputs, channels])
            let bias = try weights.value("bias", in: graph, shape: [outputs])
            let parts = outputs / channels
            return try (
                graph.split(weight, sizes: Array(repeating: channels, count: parts), axis: 0),
                graph.split(bias, sizes: Array(repeating: channels, count: parts), axis: 0)
            )
        }
    }
}
