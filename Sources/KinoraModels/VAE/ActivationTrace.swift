import KinoraGPU
import KinoraTensor

/// A shape-only replay of the activations a VAE forward records on a `Graph`, for estimating its peak device memory
/// without running it.
///
/// The blocks trace the same ops, in the same order, as they record. `peakBytes(output:)` then replays
/// `Graph.run`'s memory behaviour: each intermediate takes an `ActivationArena` slot (rounded up to 64 KiB; the
/// smallest free slot that fits and is at most twice the request, else a new one) released after its last reader,
/// free slots stay held, and the output gets a buffer of its own. Graph inputs (latents, weights) are not counted.
/// Convolutions the graph computes by Winograd (`convolutionStrategy` on `device`) add their workspace's requests
/// (`WinogradWorkspace`) in the order the graph makes them.
struct ActivationTrace {
    /// A traced value: its shape and the op that owns its storage (views share their base's).
    struct Traced {
        let shape: [Int]
        let root: Int
    }

    /// `Graph.groupNorm` splits rows longer than this into chunks of `normChunk` elements (at most `normMaxChunks`),
    /// and `ActivationArena` rounds slots to `slotGranularity` bytes; the measured-peak test keeps these honest.
    static let normSplitThreshold = 8192
    static let normChunk = 4096
    static let normMaxChunks = 256
    static let slotGranularity = 64 << 10

    private var bytes: [Int] = []
    private var nodes: [(output: Int, reads: [Int])] = []
    /// The device's binding alignment, which decides whether a slice is a view or a copy.
    let sliceAlignment: Int
    /// Bytes of one activation element (the graph's activation type).
    let elementBytes: Int

    /// The device and strategy the traced convolutions are recorded with: where they choose Winograd, its
    /// workspace is traced too.
    let device: GPUDevice?
    let convolutionStrategy: ConvolutionStrategy
    /// The graph's `winogradPieceBytes`.
    let winogradPieceBytes: Int

    init(sliceAlignment: Int, elementBytes: Int = 4, device: GPUDevice? = nil,
         convolutionStrategy: ConvolutionStrategy = .automatic,
         winogradPieceBytes: Int = Graph.defaultWinogradPieceBytes) {
        self.sliceAlignment = sliceAlignment
        self.elementBytes = elementBytes
        self.device = device
        self.convolutionStrategy = convolutionStrategy
        self.winogradPieceBytes = winogradPieceBytes
    }

    /// A value that comes from outside the graph's arena (a graph input).
    mutating func input(_ shape: [Int]) -> Traced {
        bytes.append(0)
        return Traced(shape: shape, root: bytes.count - 1)
    }

    /// An op writing a new activation of `shape` (`elementBytes` an element unless told) after reading `reads`.
    mutating func op(_ shape: [Int], reads: [Traced], elementBytes: Int? = nil) -> Traced {
        bytes.append(shape.reduce(1, *) * (elementBytes ?? self.elementBytes))
        nodes.append((bytes.count - 1, reads.map(\.root)))
        return Traced(shape: shape, root: bytes.count - 1)
    }

    /// An op writing part of `target`, an earlier op's output, after reading `reads` (a large op in pieces).
    mutating func write(into target: Traced, reads: [Traced]) {
        nodes.append((target.root, reads.map(\.root)))
    }

    /// A reshape: the same storage.
    func view(_ x: Traced, _ shape: [Int]) -> Traced {
        Traced(shape: shape, root: x.root)
    }

    // MARK: Ops as the Graph records them

    mutating func conv(_ x: Traced, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int) -> Traced {
        let height = (x.shape[2] + 2 * padding - kernel) / stride + 1
        let width = (x.shape[3] + 2 * padding - kernel) / stride + 1
        let shape = [x.shape[0], outChannels, height, width]
        guard let device, let workspace = WinogradWorkspace(
            convolutionStrategy, device: device, batch: x.shape[0], inChannels: x.shape[1], outChannels: outChannels,
            height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride, padding: padding,
            pieceBytes: winogradPieceBytes)
        else { return op(shape, reads: [x]) }
        // The weight transform reads a graph input; each piece transforms its input, multiplies, and writes its
        // part of the output (the first piece creates it).
        let weights = op([workspace.weightBytes], reads: [], elementBytes: 1)
        var output: Traced?
        for piece in workspace.pieces {
            let input = op([piece.inputBytes], reads: [x], elementBytes: 1)
            let products = op([piece.productBytes], reads: [input, weights], elementBytes: 1)
            if let output {
                write(into: output, reads: [products])
            } else {
                output = op(shape, reads: [products])
            }
        }
        return output ?? op(shape, reads: [x])
    }

    /// Group norm: long rows first get a partial-statistics pass (see `Graph.groupNorm`).
    mutating func groupNorm(_ x: Traced, groups: Int) -> Traced {
        let rowLength = x.shape.dropFirst().reduce(1, *) / groups
        guard rowLength > Self.normSplitThreshold else { return op(x.shape, reads: [x]) }
        let chunks = min(Self.normMaxChunks, (rowLength + Self.normChunk - 1) / Self.normChunk)
        let statistics = op([x.shape[0] * groups, chunks, 3], reads: [x])
        return op(x.shape, reads: [x, statistics])
    }

    mutating func unary(_ x: Traced) -> Traced { op(x.shape, reads: [x]) }

    mutating func binary(_ a: Traced, _ b: Traced) -> Traced {
        op(a.shape.count >= b.shape.count ? a.shape : b.shape, reads: [a, b])
    }

    /// A transpose of two non-trivial axes: always a copy.
    mutating func swapAxes(_ x: Traced, _ a: Int, _ b: Int) -> Traced {
        var shape = x.shape
        shape.swapAt(a, b)
        return op(shape, reads: [x])
    }

    /// `Graph.slice`: a view when it is one aligned contiguous range, else a copy.
    mutating func slice(_ x: Traced, axis: Int, start: Int, length: Int) -> Traced {
        var shape = x.shape
        shape[axis] = length
        if length == x.shape[axis] { return x }
        let outer = x.shape[..<axis].reduce(1, *)
        let offset = start * x.shape[(axis + 1)...].reduce(1, *) * elementBytes
        if outer == 1, offset % sliceAlignment == 0 { return view(x, shape) }
        return op(shape, reads: [x])
    }

    mutating func concat(_ values: [Traced], axis: Int) -> Traced {
        guard values.count > 1 else { return values[0] }
        var shape = values[0].shape
        shape[axis] = values.reduce(0) { $0 + $1.shape[axis] }
        return op(shape, reads: values)
    }

    // MARK: Replay

    /// Peak device bytes of running the traced ops to produce `output`, from an empty arena.
    func peakBytes(output: Traced) -> UInt64 {
        let granularity = Self.slotGranularity
        var lastUse: [Int: Int] = [:]
        for (position, node) in nodes.enumerated() {
            for root in node.reads + [node.output] { lastUse[root] = position }
        }
        var free: [Int] = []
        var slotOf: [Int: Int] = [:]
        var held = 0
        var outputBytes = 0
        for (position, node) in nodes.enumerated() {
            if node.output == output.root {
                outputBytes = (bytes[node.output] + 255) / 256 * 256
            } else if slotOf[node.output] == nil {
                let rounded = (max(bytes[node.output], 4) + granularity - 1) / granularity * granularity
                let fits = free.indices.filter { free[$0] >= rounded && free[$0] <= 2 * rounded }
                if let best = fits.min(by: { free[$0] < free[$1] }) {
                    slotOf[node.output] = free.remove(at: best)
                } else {
                    slotOf[node.output] = rounded
                    held += rounded
                }
            }
            for root in Set(node.reads + [node.output]) where lastUse[root] == position {
                if let slot = slotOf.removeValue(forKey: root) { free.append(slot) }
            }
        }
        return UInt64(held + outputBytes)
    }
}
