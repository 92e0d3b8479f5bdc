import KinoraGPU

/// 3×3 stride-1 convolutions by Winograd's F(4×4, 3×3) (the minimal filtering algorithm Lavin & Gray brought to
/// CNNs, and ncnn's choice for these layers on its Vulkan backend): each 4×4 block of outputs costs 36 multiplications
/// per input and output channel instead of 144. The weight transform (`conv_winograd_weight`) runs once per
/// convolution; then, per piece of tiles, the input transform of every 6×6 patch (`conv_winograd_input`), 36
/// independent channel GEMMs (`conv_winograd_gemm`) and the output transform with the bias and the fused epilogue
/// (`conv_winograd_output`), which writes its part of the output. The transformed weights (f32, 4× the weight's
/// elements), input and products (f32, 36/16 of the piece's input and output) live in the activation arena.
///
/// The input and output transforms read and write the graph's activation type; the transformed input and products
/// stay f32 whatever it is. Rounded to 16 bits they would cost ten times the rounding of the activations
/// themselves (a numpy model of F(4×4, 3×3) on 33 and 256 channels: relative L2 error 2e-4 → 3e-3 with f16
/// intermediates, 1.7e-3 → 2.4e-2 with bf16, past both types' conformance floors), and since pieces are bounded by
/// `winogradPieceBytes` anyway, halving them would only halve the number of pieces, not lower the peak.
extension Graph {
    /// Output channels per GEMM invocation (the transformed weights are laid out in blocks of this many): 16 × 8
    /// tiles ran the 64-channel GEMMs of a 128² layer in 28 ms on lavapipe against 34 ms with 8 × 8; 16 × 16 and
    /// 32 × 8 took 2–3× longer (their accumulators no longer fit).
    static let winogradChannelBlock = 16
    /// Tiles per GEMM invocation (a multiple of 4: tiles are read as vec4).
    static let winogradTileBlock = 8
    static let winogradThreads = 64
    /// The most bytes of transformed input or products one piece holds unless a graph says otherwise.
    public static let defaultWinogradPieceBytes = 32 << 20
    /// The largest transformed weight (f32, 4× the weight's elements) a Winograd convolution makes: up to about
    /// 680 input and output channels; wider convolutions are computed directly.
    static let winogradWeightBytes = 64 << 20

    /// Whether `g` is a convolution Winograd F(4×4, 3×3) computes: a 3×3 kernel over height and width, stride and
    /// dilation 1, one group; a 3-D convolution with a 1×3×3 kernel and no padding in time is one per frame.
    static func winogradApplies(_ g: ConvGeometry) -> Bool {
        !g.transposed && g.groups == 1 && g.kernel == [1, 3, 3] && g.stride == [1, 1, 1]
            && g.dilation[1...] == [1, 1] && g.padding[0] == 0
    }

    /// Whether convolutions recorded with `strategy` on `device` run by Winograd where it applies.
    static func winogradChosen(_ strategy: ConvolutionStrategy, device: GPUDevice) -> Bool {
        strategy == .winograd || (strategy == .fastest && device.physical.kind == .cpu)
    }

    /// The sizes of one Winograd convolution: tiles of 4×4 outputs over (images, rows, columns) with rows of a
    /// multiple of 4 tiles, output channels padded to whole GEMM blocks, and pieces of `pieceTiles` tiles (a whole
    /// number of GEMM invocations).
    struct WinogradPlan {
        var inChannels: Int, outChannels: Int, blocks: Int
        var tilesY: Int, tilesX: Int, tiles: Int, pieceTiles: Int

        init(_ g: ConvGeometry, pieceBytes: Int) {
            let tileBlock = Graph.winogradTileBlock
            inChannels = g.inChannels
            outChannels = g.outChannels
            blocks = (g.outChannels + Graph.winogradChannelBlock - 1) / Graph.winogradChannelBlock
            tilesY = (g.output[1] + 3) / 4
            // Whole groups of four tiles a row: the transforms take four neighbouring tiles at a time.
            tilesX = ((g.output[2] + 3) / 4 + 3) / 4 * 4
            tiles = g.batch * g.output[0] * tilesY * tilesX
            // As few pieces as fit, of equal size, so that each piece's intermediates reuse the last one's slots.
            let tileBytes = 36 * 4 * max(inChannels, blocks * Graph.winogradChannelBlock)
            let fitting = max(pieceBytes / tileBytes / tileBlock * tileBlock, tileBlock)
            let pieces = (tiles + fitting - 1) / fitting
            pieceTiles = ((tiles + pieces - 1) / pieces + tileBlock - 1) / tileBlock * tileBlock
        }

        var outPad: Int { blocks * Graph.winogradChannelBlock }

        /// Bytes of the transformed weights: f32, 36 per input and (padded) output channel.
        var weightBytes: Int { 36 * 4 * inChannels * outPad }

        /// One piece of tiles: its first tile, its tiles, and those padded to whole GEMM invocations.
        struct Piece {
            var first: Int, tiles: Int, paddedTiles: Int
        }

        /// The pieces, in the order they are recorded.
        var pieces: [Piece] {
            stride(from: 0, to: tiles, by: pieceTiles).map { first in
                let count = min(pieceTiles, tiles - first)
                let block = Graph.winogradTileBlock
                return Piece(first: first, tiles: count, paddedTiles: (count + block - 1) / block * block)
            }
        }
    }

    /// The plan of a Winograd convolution of `g`, or nil where its dispatches would not stay inside the device's
    /// limits (more than 65535 / 36 channel blocks, or one tile's intermediates past the largest buffer) or its
    /// transformed weights would pass `winogradWeightBytes`.
    func winogradPlan(_ g: ConvGeometry) -> WinogradPlan? {
        Self.winogradPlan(g, pieceBytes: winogradPieceBytes, maxBuffer: Int(clamping: device.memory.maxBufferSize))
    }

    /// `winogradPlan(_:)` for a device whose largest buffer is `maxBuffer` bytes and pieces of `pieceBytes`.
    static func winogradPlan(_ g: ConvGeometry, pieceBytes: Int, maxBuffer: Int) -> WinogradPlan? {
        let plan = WinogradPlan(g, pieceBytes: min(pieceBytes, maxBuffer))
        guard 36 * 4 * max(plan.inChannels, plan.outPad) * plan.pieceTiles <= maxBuffer, 36 * plan.blocks <= 65535,
            plan.weightBytes <= min(Self.winogradWeightBytes, maxBuffer)
        else { return nil }
        return plan
    }

    /// Records the Winograd dispatches: the weight transform, then per piece of tiles the input transform, the
    /// GEMMs and the output transform into its part of the output. `operands` are the convolution's [input
    /// (activation type), weight, bias or a placeholder, slopes or a placeholder, residual or a placeholder],
    /// `epilogue` its epilogue constants.
    func recordWinogradConvolution(
        op: String, geometry g: ConvGeometry, plan: WinogradPlan, weight: Value,
        hasBias: Bool, operands: [KernelCall.Operand], epilogue: [UInt32],
        outputShape: [Int]
    ) -> Value {
        let threads = Self.winogradThreads
        let (cin, cout) = (plan.inChannels, plan.outChannels)
        let block = Self.winogradChannelBlock
        let weightCall = KernelCall(
            shader: "conv_winograd_weight.\(weight.dtype.variant)",
            specialization: [threads, 1, 1, block].map(Launch.u32),
            pushConstants: [cout, cin, plan.outPad].map(Launch.u32) + [Launch.bits(scale(of: weight))],
            groups: Launch.grid(count: plan.outPad * cin, local: threads),
            operands: [.init(value: weight.id, access: .read)], work: Double(plan.outPad * cin * 36 * 16),
            label: "\(op) winograd weights")
        let u = record(weightCall, output: [36, plan.blocks, cin, block])

        // Constant ids as conv.comp's: 9 the bias flag, 22-26 the epilogue.
        var outputConstants = [threads, 1, 1].map(Launch.u32) + Array(repeating: 0, count: 19) + epilogue
        outputConstants[9] = hasBias ? 1 : 0
        // One piece: its input transform and GEMMs recorded, and the output transform that stores it.
        func call(_ piece: WinogradPlan.Piece) -> KernelCall {
            let (first, tiles, tilesPad) = (piece.first, piece.tiles, piece.paddedTiles)
            let inputCall = KernelCall(
                shader: activationShader("conv_winograd_input"), specialization: [threads, 1, 1].map(Launch.u32),
                pushConstants: [
                    cin, g.input[0], g.input[1], g.input[2], plan.tilesY, plan.tilesX, first, tiles,
                    tilesPad, g.padding[1], g.padding[2],
                ].map(Launch.u32),
                groups: Launch.grid(count: cin * tilesPad / 4, local: threads), operands: [operands[0]],
                work: Double(cin * tilesPad * 36 * 16), label: "\(op) winograd input")
            let v = record(inputCall, output: [36, cin, tilesPad])

            let invocations = Launch.grid(count: tilesPad / Self.winogradTileBlock, local: threads)
            let gemmCall = KernelCall(
                shader: "conv_winograd_gemm",
                specialization: [threads, 1, 1, block, Self.winogradTileBlock].map(Launch.u32),
                pushConstants: [cin, plan.blocks, tilesPad].map(Launch.u32),
                groups: (invocations.x, invocations.y, UInt32(36 * plan.blocks)),
                operands: [.init(value: v.id, access: .read), .init(value: u.id, access: .read)],
                work: 2 * 36 * Double(plan.outPad) * Double(cin) * Double(tilesPad), label: "\(op) winograd gemm")
            let m = record(gemmCall, output: [36, plan.outPad, tilesPad])

            let products = KernelCall.Operand(value: m.id, access: .read)
            return KernelCall(
                shader: activationShader("conv_winograd_output"), specialization: outputConstants,
                pushConstants: [
                    cout, plan.outPad, g.output[0], g.output[1], g.output[2], plan.tilesY, plan.tilesX,
                    first, tiles, tilesPad,
                ].map(Launch.u32),
                groups: Launch.grid(count: cout * tilesPad / 4, local: threads),
                operands: [products, products] + operands[2...],
                work: Double(cout * tilesPad * 36 * 10), label: "\(op) winograd output")
        }
        let pieces = plan.pieces
        let output = record(call(pieces[0]), output: outputShape, dtype: activationDType)
        for piece in pieces.dropFirst() { record(call(piece), into: output) }
        return output
    }
}
