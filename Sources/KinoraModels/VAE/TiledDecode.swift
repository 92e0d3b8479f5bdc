import KinoraTensor

extension AutoencoderKL {
    /// diffusers' `AutoencoderKL.tiled_decode`, step for step: latent tiles start every `overlap` pixels along each
    /// axis (the last ones shorter), each is decoded alone (`post_quant_conv` included); then, row by row, each
    /// tile is blended with the (already blended) tile above and the one to its left over `blend` pixels and cropped
    /// to `limit` pixels, and the crops are joined. All tiles are recorded in one graph: each tile's intermediates
    /// are released as soon as it is decoded, so the peak is one tile's decode plus the decoded tiles.
    func decodeTiled(_ graph: Graph, _ z: Value, tiles: TileConfiguration) throws -> Value {
        let overlap = Int(Double(tiles.latentTileSize) * (1 - tiles.overlapFactor))
        let blend = Int(Double(tiles.sampleTileSize) * tiles.overlapFactor)
        let limit = tiles.sampleTileSize - blend
        guard tiles.latentTileSize >= 1, overlap >= 1, limit >= 1, blend >= 0 else {
            throw AutoencoderKLError.invalidInput(
                operation: "tiled decode", shape: z.shape,
                reason: "tile of \(tiles.latentTileSize) latent / \(tiles.sampleTileSize) image pixels with overlap "
                    + "\(tiles.overlapFactor) leaves no stride or crop")
        }
        let (height, width) = (z.shape[2], z.shape[3])
        var rows: [[Value]] = try stride(from: 0, to: height, by: overlap).map { top in
            let band = try graph.slice(z, axis: 2, start: top, length: min(tiles.latentTileSize, height - top))
            return try stride(from: 0, to: width, by: overlap).map { left in
                try decodeWhole(graph, graph.slice(band, axis: 3, start: left,
                                                   length: min(tiles.latentTileSize, width - left)))
            }
        }
        var joinedRows: [Value] = []
        for i in rows.indices {
            for j in rows[i].indices {
                if i > 0 {
                    rows[i][j] = try graph.blendTileEdge(rows[i - 1][j], into: rows[i][j], extent: blend, axis: 2)
                }
                if j > 0 {
                    rows[i][j] = try graph.blendTileEdge(rows[i][j - 1], into: rows[i][j], extent: blend, axis: 3)
                }
            }
            joinedRows.append(try graph.concat(rows[i].map { tile in
                let cropped = try graph.slice(tile, axis: 2, start: 0, length: min(limit, tile.shape[2]))
                return try graph.slice(cropped, axis: 3, start: 0, length: min(limit, tile.shape[3]))
            }, axis: 3))
        }
        return try graph.concat(joinedRows, axis: 2)
    }
}
