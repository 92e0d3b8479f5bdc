import KinoraGPU

/// The activation-arena requests a Winograd F(4×4, 3×3) convolution makes (`Graph+Winograd.swift`), in the order it
/// makes them, for memory estimators that replay a model's ops on shapes: first the transformed weights (f32, held
/// until the last piece's GEMM), then per piece of tiles the transformed input (f32, freed after the piece's GEMM)
/// and the products (f32, freed after the piece's output transform, which writes its part of the output; the first
/// piece's creates the output).
public struct WinogradWorkspace: Sendable, Equatable {
    /// One piece of tiles: the bytes of its transformed input and of its products.
    public struct Piece: Sendable, Equatable {
        public var inputBytes: Int
        public var productBytes: Int

        public init(inputBytes: Int, productBytes: Int) {
            self.inputBytes = inputBytes
            self.productBytes = productBytes
        }
    }

    public var weightBytes: Int
    public var pieces: [Piece]

    /// The workspace of a 2-D convolution of `inChannels` → `outChannels` over [batch, inChannels, height, width]
    /// (`kernel` × `kernel`, `stride`, `padding` on both sides, one group) recorded with `strategy` on `device`
    /// with pieces of at most `pieceBytes`, or nil where the graph computes it another way (not a 3×3 stride-1
    /// convolution, a strategy or device that does not choose Winograd, or past the plan's limits).
    public init?(_ strategy: ConvolutionStrategy, device: GPUDevice, batch: Int, inChannels: Int, outChannels: Int,
                 height: Int, width: Int, kernel: Int, stride: Int = 1, padding: Int,
                 pieceBytes: Int = Graph.defaultWinogradPieceBytes) {
        let outHeight = (height + 2 * padding - kernel) / stride + 1
        let outWidth = (width + 2 * padding - kernel) / stride + 1
        let g = Graph.ConvGeometry(
            batch: batch, inChannels: inChannels, outChannels: outChannels, groups: 1, input: [1, height, width],
            output: [1, outHeight, outWidth], kernel: [1, kernel, kernel], stride: [1, stride, stride],
            dilation: [1, 1, 1], padding: [0, padding, padding])
        guard Graph.winogradChosen(strategy, device: device), Graph.winogradApplies(g),
              let plan = Graph.winogradPlan(g, pieceBytes: pieceBytes,
                                            maxBuffer: Int(clamping: device.memory.maxBufferSize))
        else { return nil }
        weightBytes = plan.weightBytes
        pieces = plan.pieces.map { piece in
            Piece(inputBytes: 36 * 4 * plan.inChannels * piece.paddedTiles,
                  productBytes: 36 * 4 * plan.outPad * piece.paddedTiles)
        }
    }
}
