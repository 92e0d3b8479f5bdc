import KinoraGPU
import KinoraTensor

extension RealESRGAN {
    /// The context used for RRDBNet, whose exact receptive radius (hundreds of pixels) is no use for tiling:
    /// 24 input pixels keep the tiled result within 1e-4 relative L2 of the untiled one on the real models
    /// (realesrgan-ncnn-vulkan pads its tiles by 10).
    public static let rrdbContext = 24

    /// Tile sides tried, largest first, when choosing a tile from the memory plan.
    static let tileCandidates = [1024, 768, 512, 384, 320, 256, 192, 160, 128, 96, 64, 48, 32]

    /// The largest tile that fits what the device has left (upload the weights first): nine tenths of its available
    /// bytes, a tenth held back for what the plan does not see (staging of each tile's input and output).
    public func tiling(height: Int, width: Int, arena: ActivationArena) throws -> UpscaleTiling {
        try tiling(height: height, width: width, availableBytes: arena.device.memory.availableBytes / 10 * 9,
                   arena: arena)
    }

    /// The largest tile whose predicted peak (the memory plan of one tile with its context) fits `availableBytes` and
    /// whose largest single buffer the device can make (`maxBufferSize`: 128 MiB on lavapipe); a tile never exceeds
    /// the image, so a small image is one tile without context. Throws when not even the smallest candidate fits.
    public func tiling(
        height: Int, width: Int, availableBytes: UInt64, arena: ActivationArena,
        context: Int? = nil
    ) throws -> UpscaleTiling {
        let context = context ?? exactContext ?? Self.rrdbContext
        let side = max(height, width)
        // The whole image as one tile when it is no larger than the largest candidate, then smaller tiles.
        let tiles = (side <= Self.tileCandidates[0] ? [side] : []) + Self.tileCandidates.filter { $0 < side }
        var smallest = (tile: side, bytes: UInt64(0))
        let largestBuffer = arena.device.memory.maxBufferSize
        for tile in tiles {
            let plan = try tilePlan(
                windowHeight: min(height, tile + 2 * context),
                windowWidth: min(width, tile + 2 * context), arena: arena)
            if plan.peakBytes <= availableBytes, plan.largestBufferBytes <= largestBuffer {
                return try UpscaleTiling(tile: tile, context: context)
            }
            smallest = (tile, plan.peakBytes)
        }
        throw UpscaleError.doesNotFit(tile: smallest.tile, neededBytes: smallest.bytes, availableBytes: availableBytes)
    }

    /// A graph for one tile, planned and run alike: its memory comes from its own plan, so its convolutions may
    /// take the fastest kernel with a workspace (Winograd on CPU drivers).
    static func tileGraph(arena: ActivationArena) -> Graph {
        let graph = Graph(arena: arena)
        graph.convolutionStrategy = .fastest
        return graph
    }

    /// The predicted device bytes of one tile run on a window of the given size.
    func peakBytes(windowHeight: Int, windowWidth: Int, arena: ActivationArena) throws -> UInt64 {
        try tilePlan(windowHeight: windowHeight, windowWidth: windowWidth, arena: arena).peakBytes
    }

    /// The predicted peak and largest single buffer of one tile run on a window of the given size.
    func tilePlan(windowHeight: Int, windowWidth: Int, arena: ActivationArena) throws
        -> (peakBytes: UInt64, largestBufferBytes: UInt64)
    {
        let graph = Self.tileGraph(arena: arena)
        let x = try graph.input(
            [Float](repeating: 0, count: 3 * windowHeight * windowWidth),
            shape: [1, 3, windowHeight, windowWidth])
        let y = try tileOutput(
            graph, x, window: (0, 0), core: (0..<windowHeight, 0..<windowWidth),
            image: (windowHeight, windowWidth))
        let plan = try graph.memoryPlan([y])
        return (plan.peakBytes + UInt64(x.count * 4), max(plan.largestBufferBytes, UInt64(x.count * 4)))
    }

    /// The output pixels of one tile: the network on `x` (the tile's window, whose first pixel is the image's
    /// `window`), cropped to the output of `core` (image coordinates), through the final resize when the model
    /// has one. `image` is the whole input image's size.
    func tileOutput(
        _ graph: Graph, _ x: Value, window: (y: Int, x: Int), core: (rows: Range<Int>, columns: Range<Int>),
        image: (height: Int, width: Int)
    ) throws -> Value {
        let r = networkScale
        let y = try network(graph, x)
        let output = outputSize(height: image.height, width: image.width)
        let outRows = Self.outputSpan(core.rows, outputSize: output.height, inputSize: image.height)
        let outColumns = Self.outputSpan(core.columns, outputSize: output.width, inputSize: image.width)
        guard resizeFactor != nil else {
            let rows = try graph.slice(y, axis: 2, start: outRows.lowerBound - r * window.y, length: outRows.count)
            return try graph.slice(rows, axis: 3, start: outColumns.lowerBound - r * window.x, length: outColumns.count)
        }
        let source = (height: r * image.height, width: r * image.width)
        return try graph.withActivations(activationDType) {
            try graph.resize(
                y, height: outRows.count, width: outColumns.count, filter: .bicubic,
                scale: (Double(source.height) / Double(output.height), Double(source.width) / Double(output.width)),
                window: Graph.ResizeWindow(
                    outputOrigin: (outRows.lowerBound, outColumns.lowerBound),
                    inputOrigin: (r * window.y, r * window.x), sourceSize: source))
        }
    }

    /// The output pixels of input pixels `input` along an axis: [a·H'/H, b·H'/H), exact for the integer factors the
    /// models use and a partition of the output for any factor.
    static func outputSpan(_ input: Range<Int>, outputSize: Int, inputSize: Int) -> Range<Int> {
        let start = input.lowerBound * outputSize / inputSize
        let end = input.upperBound * outputSize / inputSize
        return start..<end
    }

    /// Upscales `image`, planar RGB [3, height, width] in [0, 1] (unclamped values pass through), tile by tile;
    /// returns planar RGB [3, H', W'] (`outputSize`). `progress` is called after each tile with (done, total).
    public func upscale(
        _ image: [Float], height: Int, width: Int, tiling: UpscaleTiling, arena: ActivationArena,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> [Float] {
        guard height >= 1, width >= 1, image.count == 3 * height * width else {
            throw UpscaleError.invalidImage(reason: "\(image.count) values for a 3 × \(height) × \(width) image")
        }
        let output = outputSize(height: height, width: width)
        var result = [Float](repeating: 0, count: 3 * output.height * output.width)
        let tiles = tiling.tiles(height: height, width: width)
        for (index, tile) in tiles.enumerated() {
            let (wh, ww) = (tile.windowRows.count, tile.windowColumns.count)
            var window = [Float](repeating: 0, count: 3 * wh * ww)
            for c in 0..<3 {
                for (row, y) in tile.windowRows.enumerated() {
                    let from = (c * height + y) * width + tile.windowColumns.lowerBound
                    window.replaceSubrange((c * wh + row) * ww..<(c * wh + row + 1) * ww, with: image[from..<from + ww])
                }
            }
            let graph = Self.tileGraph(arena: arena)
            let y = try tileOutput(
                graph, try graph.input(window, shape: [1, 3, wh, ww]),
                window: (tile.windowRows.lowerBound, tile.windowColumns.lowerBound),
                core: (tile.rows, tile.columns), image: (height, width))
            let values = try graph.run([y])[0].floats()
            let (th, tw) = (y.shape[2], y.shape[3])
            let top = Self.outputSpan(tile.rows, outputSize: output.height, inputSize: height).lowerBound
            let left = Self.outputSpan(tile.columns, outputSize: output.width, inputSize: width).lowerBound
            for c in 0..<3 {
                for row in 0..<th {
                    let to = (c * output.height + top + row) * output.width + left
                    result.replaceSubrange(to..<to + tw, with: values[(c * th + row) * tw..<(c * th + row + 1) * tw])
                }
            }
            progress(index + 1, tiles.count)
        }
        return result
    }
}
