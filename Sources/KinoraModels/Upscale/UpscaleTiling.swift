/// How an image is cut into tiles for an upscaler: square tiles of `tile` input pixels, each run with `context`
/// pixels of the image around it (fewer at the image's edges) and cropped back to its own pixels, so the joined
/// result has no seams. With `context` at least the network's receptive radius a tile is exactly the untiled
/// result.
public struct UpscaleTiling: Sendable, Equatable {
    /// One tile: the input pixels it produces and the window (with context) it runs on.
    public struct Tile: Sendable, Equatable {
        /// The input rows and columns whose output this tile provides.
        public var rows: Range<Int>
        public var columns: Range<Int>
        /// The input window the network runs on: `rows`/`columns` widened by the context, clipped to the image.
        public var windowRows: Range<Int>
        public var windowColumns: Range<Int>
    }

    /// The side of a tile in input pixels.
    public let tile: Int
    /// Input pixels of context each side of a tile.
    public let context: Int

    public init(tile: Int, context: Int) throws {
        guard tile >= 1, context >= 0 else {
            throw UpscaleError.invalidImage(reason: "a tile of \(tile) pixels with \(context) of context")
        }
        self.tile = tile
        self.context = context
    }

    /// The tiles covering a `height` × `width` image, row by row.
    public func tiles(height: Int, width: Int) -> [Tile] {
        func spans(_ size: Int) -> [Range<Int>] {
            stride(from: 0, to: size, by: tile).map { $0..<min($0 + tile, size) }
        }
        return spans(height).flatMap { rows in
            spans(width).map { columns in
                Tile(
                    rows: rows, columns: columns,
                    windowRows: max(0, rows.lowerBound - context)..<min(height, rows.upperBound + context),
                    windowColumns: max(0, columns.lowerBound - context)..<min(width, columns.upperBound + context))
            }
        }
    }
}
