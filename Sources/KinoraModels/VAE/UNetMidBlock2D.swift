import KinoraTensor

extension AutoencoderKL {
    /// diffusers' `UNetMidBlock2D` as the VAE uses it: `resnets.0`, then (when `mid_block_add_attention`)
    /// `attentions.0` followed by `resnets.1`.
    struct UNetMidBlock2D: Sendable {
        let resnets: [ResnetBlock2D]
        let attention: SpatialAttention?

        init(weights: DeviceWeights, channels: Int, groups: Int, addAttention: Bool, fusedAttentionHeadDim: Int) {
            resnets = (0..<2).map {
                ResnetBlock2D(weights: weights.scoped("resnets.\($0)"), inChannels: channels, outChannels: channels,
                              groups: groups)
            }
            attention = addAttention
                ? SpatialAttention(weights: weights.scoped("attentions.0"), channels: channels, groups: groups,
                                   fusedHeadDim: fusedAttentionHeadDim)
                : nil
        }

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            var h = try resnets[0](graph, x)
            if let attention { h = try attention(graph, h) }
            return try resnets[1](graph, h)
        }

        func trace(_ t: inout ActivationTrace, _ x: ActivationTrace.Traced) -> ActivationTrace.Traced {
            var h = resnets[0].trace(&t, x)
            if let attention { h = attention.trace(&t, h) }
            return resnets[1].trace(&t, h)
        }
    }

    /// diffusers' `Attention` as the VAE mid block builds it: one head over the H·W spatial tokens, a group norm
    /// first, `to_q`/`to_k`/`to_v`/`to_out.0` linear layers, a residual connection and output scale 1.
    ///
    /// Head dims up to `fusedHeadDim` (the flash kernel's limit, 256) use `Graph.attention`. Wider heads (the real
    /// SD VAE has one head of 512) run as explicit scores: `softmax(q·kᵀ/√C)·v` in chunks of query rows whose score
    /// matrix stays under `scoreChunkBytes`.
    struct SpatialAttention: Sendable {
        let weights: DeviceWeights
        let channels: Int
        let groups: Int
        let fusedHeadDim: Int
        static let scoreChunkBytes = 64 << 20

        var scale: Float { 1 / Float(channels).squareRoot() }

        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
            let tokens = height * width
            var h = try VAELayers.groupNorm(graph, x, weights.scoped("group_norm"), groups: groups)
            h = try graph.transpose(graph.reshape(h, [batch, channels, tokens]), 1, 2)
            let query = try VAELayers.linear(graph, h, weights.scoped("to_q"))
            let key = try VAELayers.linear(graph, h, weights.scoped("to_k"))
            let value = try VAELayers.linear(graph, h, weights.scoped("to_v"))
            if channels <= fusedHeadDim {
                h = try graph.attention(query: query, key: key, value: value, heads: 1, scale: scale)
            } else {
                let rows = Self.chunkRows(batch: batch, tokens: tokens)
                let scaled = try graph.scale(query, by: scale)
                h = try graph.concat(stride(from: 0, to: tokens, by: rows).map { start in
                    let chunk = try graph.slice(scaled, axis: 1, start: start, length: min(rows, tokens - start))
                    let scores = try graph.softmax(graph.matmul(chunk, key, transposeB: true))
                    return try graph.matmul(scores, value)
                }, axis: 1)
            }
            h = try VAELayers.linear(graph, h, weights.scoped("to_out.0"))
            h = try graph.reshape(graph.transpose(h, 1, 2), x.shape)
            return try graph.add(h, x)
        }

        /// Query rows per chunk of the explicit path.
        static func chunkRows(batch: Int, tokens: Int) -> Int {
            max(1, min(tokens, scoreChunkBytes / (4 * batch * tokens)))
        }

        func trace(_ t: inout ActivationTrace, _ x: ActivationTrace.Traced) -> ActivationTrace.Traced {
            let (batch, tokens) = (x.shape[0], x.shape[2] * x.shape[3])
            var h = t.groupNorm(x, groups: groups)
            h = t.swapAxes(t.view(h, [batch, channels, tokens]), 1, 2)
            let query = t.op(h.shape, reads: [h])
            let key = t.op(h.shape, reads: [h])
            let value = t.op(h.shape, reads: [h])
            if channels <= fusedHeadDim {
                h = t.op(query.shape, reads: [query, key, value])
            } else {
                let rows = Self.chunkRows(batch: batch, tokens: tokens)
                let scaled = t.unary(query)
                h = t.concat(stride(from: 0, to: tokens, by: rows).map { start in
                    let chunk = t.slice(scaled, axis: 1, start: start, length: min(rows, tokens - start))
                    let scores = t.op([batch, chunk.shape[1], tokens], reads: [chunk, key])
                    let weights = t.unary(scores)
                    return t.op(chunk.shape, reads: [weights, value])
                }, axis: 1)
            }
            h = t.op(h.shape, reads: [h])
            h = t.view(t.swapAxes(h, 1, 2), x.shape)
            return t.binary(h, x)
        }
    }
}
