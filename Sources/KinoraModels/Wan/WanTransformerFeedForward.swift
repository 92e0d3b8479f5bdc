import KinoraTensor

/// diffusers' `FeedForward(dim, inner_dim=ffn_dim, activation_fn="gelu-approximate")`: `net.0.proj` to ffn_dim,
/// GELU's tanh form, `net.2` back to dim.
///
/// The tokens go through in chunks of rows whose ffn_dim-wide intermediate stays within `chunkBytes` (at 480p the
/// 1.3B model's 32760 tokens would otherwise need two 1.17 GB intermediates, past some devices' largest buffer);
/// each row's products are the same in a chunk as in the whole, so chunking changes no value. No chunk has as few rows
/// as the matmul's vector kernel takes (`Graph.vectorRows`), which sums in another order: the last few rows join the
/// chunk before them.
struct WanTransformerFeedForward {
    let configuration: WanTransformer3DConfig
    /// The weights under `ffn`.
    let weights: DeviceWeights
    /// The most bytes one chunk's f32 intermediate [rows, ffn_dim] may take.
    let chunkBytes: Int

    /// Token rows per chunk: as many as fit `chunkBytes`, more than `Graph.vectorRows`.
    var rowsPerChunk: Int { max(Graph.vectorRows + 1, chunkBytes / (configuration.ffnDim * DType.f32.size)) }

    /// The block over `x` [..., dim].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let (width, inner) = (configuration.innerDim, configuration.ffnDim)
        let rows = x.count / width
        let flat = try graph.reshape(x, [rows, width])
        let up = weights.scoped("net.0.proj")
        let down = weights.scoped("net.2")
        let upWeight = try up.value("weight", in: graph, shape: [inner, width])
        let upBias = try up.bias(in: graph, shape: [inner], required: true)
        let downWeight = try down.value("weight", in: graph, shape: [width, inner])
        let downBias = try down.bias(in: graph, shape: [width], required: true)
        func block(_ rows: Value) throws -> Value {
            let hidden = try graph.gelu(graph.linear(rows, weight: upWeight, bias: upBias), approximate: true)
            return try graph.linear(hidden, weight: downWeight, bias: downBias)
        }
        let chunk = rowsPerChunk
        guard rows > chunk else { return try graph.reshape(block(flat), x.shape) }
        var starts = Array(stride(from: 0, to: rows, by: chunk))
        if starts.count > 1, rows - starts[starts.count - 1] <= Graph.vectorRows { starts.removeLast() }
        let pieces = try starts.enumerated().map { index, start in
            let end = index + 1 < starts.count ? starts[index + 1] : rows
            return try block(graph.slice(flat, axis: 0, start: start, length: end - start))
        }
        return try graph.reshape(graph.concat(pieces, axis: 0), x.shape)
    }
}
