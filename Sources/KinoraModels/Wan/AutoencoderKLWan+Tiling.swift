import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `enable_tiling` parameters for the Wan VAE, in video pixels: tiles of `sampleHeight` ×
    /// `sampleWidth` pixels (`tile_sample_min_height` / `_width`) starting every `strideHeight` × `strideWidth`
    /// pixels (`tile_sample_stride_height` / `_width`); each is decoded on its own (with its own feature cache),
    /// blended with its upper and left neighbours over the overlap and cropped to the stride.
    public struct TileConfiguration: Sendable, Equatable {
        public var sampleHeight: Int
        public var sampleWidth: Int
        public var strideHeight: Int
        public var strideWidth: Int

        /// diffusers' defaults: 256-pixel tiles every 192 pixels.
        public init(sampleHeight: Int = 256, sampleWidth: Int = 256, strideHeight: Int = 192, strideWidth: Int = 192) {
            self.sampleHeight = sampleHeight
            self.sampleWidth = sampleWidth
            self.strideHeight = strideHeight
            self.strideWidth = strideWidth
        }
    }

    /// Where the tiles of a latent frame lie, as diffusers' `tiled_decode` computes them (all in the patchified
    /// output's pixels when the VAE patches, as diffusers blends before `unpatchify`).
    struct TileLayout {
        /// Latent tile size and the latent stride between tile starts.
        let latentTile: (height: Int, width: Int)
        let latentStride: (height: Int, width: Int)
        /// Tile starts in latent pixels.
        let rows: [Int]
        let columns: [Int]
        /// Output pixels kept of each tile, blended over, and of the whole frame (patchified).
        let outputStride: (height: Int, width: Int)
        let blend: (height: Int, width: Int)
        let output: (height: Int, width: Int)

        init(_ tiles: TileConfiguration, configuration c: AutoencoderKLWanConfig, latentHeight: Int, latentWidth: Int)
            throws
        {
            let s = c.spatialCompression
            let p = c.patch
            latentTile = (tiles.sampleHeight / s, tiles.sampleWidth / s)
            latentStride = (tiles.strideHeight / s, tiles.strideWidth / s)
            outputStride = (tiles.strideHeight / p, tiles.strideWidth / p)
            blend = (tiles.sampleHeight / p - tiles.strideHeight / p, tiles.sampleWidth / p - tiles.strideWidth / p)
            output = (latentHeight * s / p, latentWidth * s / p)
            guard latentTile.height >= 1, latentTile.width >= 1, latentStride.height >= 1, latentStride.width >= 1,
                blend.height >= 0, blend.width >= 0
            else {
                throw AutoencoderKLWanError.invalidInput(
                    operation: "tiled decode", shape: [latentHeight, latentWidth],
                    reason: "tiles of \(tiles.sampleHeight)×\(tiles.sampleWidth) pixels every \(tiles.strideHeight)×"
                        + "\(tiles.strideWidth) leave no latent tile or stride at \(s)× compression (tiles and strides "
                        + "must be at least \(s) pixels, strides no larger than tiles)")
            }
            rows = Array(stride(from: 0, to: latentHeight, by: latentStride.height))
            columns = Array(stride(from: 0, to: latentWidth, by: latentStride.width))
        }

        var count: Int { rows.count * columns.count }

        /// The latent region of tile `index` (row-major) inside a frame of `height` × `width`.
        func region(_ index: Int, height: Int, width: Int) -> (top: Int, left: Int, height: Int, width: Int) {
            let (top, left) = (rows[index / columns.count], columns[index % columns.count])
            return (top, left, min(latentTile.height, height - top), min(latentTile.width, width - left))
        }
    }

    /// Whether diffusers tiles latents of `height` × `width` under `tiles` (larger than one tile on either axis).
    public func decodeUsesTiles(latentHeight: Int, latentWidth: Int, tiles: TileConfiguration) -> Bool {
        let s = configuration.spatialCompression
        return latentWidth > tiles.sampleWidth / s || latentHeight > tiles.sampleHeight / s
    }

    /// Records one decoder call over `latents` [B, z_dim, T, h, w]: the whole frame with one pass, or with tiles
    /// (when given and the frame is larger than one) one pass per tile, blended as diffusers' `tiled_decode`.
    /// `previous` holds each pass's cache (nil entries or an empty array: the first chunk).
    func recordDecode(_ graph: Graph, _ latents: Value, previous: [[WanVAEPass.Slot]?], tiles: TileConfiguration?)
        throws -> (video: Value, passes: [WanVAEPass])
    {
        let (height, width) = (latents.shape[3], latents.shape[4])
        guard let tiles, decodeUsesTiles(latentHeight: height, latentWidth: width, tiles: tiles) else {
            let pass = WanVAEPass(graph: graph, previous: previous.first ?? nil)
            return (try decodeChunk(pass, latents), [pass])
        }
        let layout = try TileLayout(tiles, configuration: configuration, latentHeight: height, latentWidth: width)
        var passes: [WanVAEPass] = []
        var decoded: [Value] = []
        for index in 0..<layout.count {
            let region = layout.region(index, height: height, width: width)
            let band = try graph.slice(latents, axis: 3, start: region.top, length: region.height)
            let tile = try graph.slice(band, axis: 4, start: region.left, length: region.width)
            let pass = WanVAEPass(graph: graph, previous: index < previous.count ? previous[index] : nil)
            decoded.append(try decodePatched(pass, tile))
            passes.append(pass)
        }
        return (try finishFrames(graph, blend(graph, decoded, layout)), passes)
    }

    /// diffusers' blending of decoded tiles (row-major): each tile is blended with the (already blended) tile above
    /// over `blend.height` rows and the one to its left over `blend.width` columns, cropped to the stride, and the
    /// crops joined and cut to the frame.
    func blend(_ graph: Graph, _ decoded: [Value], _ layout: TileLayout) throws -> Value {
        let columns = layout.columns.count
        var tiles = decoded
        var rows: [Value] = []
        for row in 0..<layout.rows.count {
            var crops: [Value] = []
            for column in 0..<columns {
                let index = row * columns + column
                var tile = tiles[index]
                if row > 0 {
                    tile = try graph.blendTileEdge(
                        tiles[index - columns], into: tile, extent: layout.blend.height, axis: 3)
                }
                if column > 0 {
                    tile = try graph.blendTileEdge(
                        tiles[index - 1], into: tile, extent: layout.blend.width, axis: 4)
                }
                tiles[index] = tile
                let cropped = try graph.slice(
                    tile, axis: 3, start: 0,
                    length: min(layout.outputStride.height, tile.shape[3]))
                crops.append(
                    try graph.slice(
                        cropped, axis: 4, start: 0,
                        length: min(layout.outputStride.width, cropped.shape[4])))
            }
            rows.append(try graph.concat(crops, axis: 4))
        }
        let frame = try graph.concat(rows, axis: 3)
        let cut = try graph.slice(frame, axis: 3, start: 0, length: min(layout.output.height, frame.shape[3]))
        return try graph.slice(cut, axis: 4, start: 0, length: min(layout.output.width, cut.shape[4]))
    }
}
