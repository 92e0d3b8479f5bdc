import Foundation
import KinoraGPU
import KinoraReference
import KinoraTensor

/// The cases `kinora bench kernels` and `kinora-gpu-check bench` run, how one is measured, and the report both print.
public enum KernelBenchmarks {
    /// Problem sizes: small for CPU drivers, large for GPUs.
    public enum Size: String, Codable, Sendable {
        case small, large
    }

    /// What a case's figure of merit is.
    public enum Measure: String, Codable, Sendable {
        /// Floating-point operations per second.
        case flops
        /// Bytes read and written per second.
        case bytes
    }

    /// One case: a graph of one op on inputs prepared in advance.
    public struct Case {
        public var name: String
        public var shape: String
        public var dtype: DType
        public var measure: Measure
        /// FLOPs or bytes of one run.
        public var amount: Double
        /// Records the op on prepared inputs and returns its output.
        public var build: (Graph, Inputs) throws -> Value
        /// Input tensors to create once: shape and dtype.
        public var inputs: [([Int], DType)]
    }

    /// The prepared input values of a case, in the order of `Case.inputs`.
    public typealias Inputs = [Value]

    /// One measured case.
    public struct Result: Codable, Sendable {
        public var name: String
        public var shape: String
        public var dtype: String
        public var gpuMilliseconds: Double
        public var gpuMillisecondsMin: Double
        public var gflops: Double?
        public var gigabytesPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case name, shape, dtype
            case gpuMilliseconds = "gpu_ms"
            case gpuMillisecondsMin = "gpu_ms_min"
            case gflops
            case gigabytesPerSecond = "gbps"
        }

        public static let header = "case".padding(toLength: 24, withPad: " ", startingAt: 0)
            + "shape".padding(toLength: 26, withPad: " ", startingAt: 0) + "dtype     " + "   GPU ms   " + "rate"

        public var row: String {
            let rate = gflops.map { String(format: "%10.1f GFLOP/s", $0) }
                ?? gigabytesPerSecond.map { String(format: "%10.2f GB/s", $0) } ?? ""
            return name.padding(toLength: 24, withPad: " ", startingAt: 0)
                + shape.padding(toLength: 26, withPad: " ", startingAt: 0)
                + dtype.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%9.3f  ", gpuMilliseconds) + rate
        }
    }

    /// The cases for `device`: those of tensor-core tiles only where the device runs them.
    public static func cases(for device: GPUDevice, size: Size, matmulSize: Int? = nil) -> [Case] {
        let large = size == .large
        var cases: [Case] = []
        let square = matmulSize ?? (large ? 4096 : 512)
        for dtype in [DType.f32, .f16, .bf16] {
            let n = square
            cases.append(Case(
                name: "matmul-\(dtype.rawValue)", shape: "\(n)x\(n)x\(n)", dtype: dtype, measure: .flops,
                amount: 2 * Double(n) * Double(n) * Double(n),
                build: { graph, inputs in try graph.matmul(inputs[0], inputs[1]) },
                inputs: [([n, n], .f32), ([n, n], dtype)]))
        }
        let (tokens, features) = large ? (4096, 5120) : (256, 768)
        // f16 weights, and float8 ones as ComfyUI's scaled text encoders store them (bias in f16).
        for dtype in [DType.f16, .f8e4m3fn] {
            cases.append(Case(
                name: "matmul-linear-\(dtype.rawValue)", shape: "\(tokens)x\(features)->\(features)", dtype: dtype,
                measure: .flops, amount: 2 * Double(tokens) * Double(features) * Double(features),
                build: { graph, inputs in try graph.linear(inputs[0], weight: inputs[1], bias: inputs[2]) },
                inputs: [([tokens, features], .f32), ([features, features], dtype), ([features], .f16)]))
        }
        // Each tensor-core tile on the square f16 product and the f16 linear layer above, so that one run shows which
        // tile is faster on a shape (the matmul-f16 and matmul-linear-f16 cases take the tile chosen per product).
        for tile in CooperativeMatrixTile.allCases where tile.runs(on: device) {
            let n = square
            cases.append(Case(
                name: "matmul-tile\(tile.rows)", shape: "\(n)x\(n)x\(n)", dtype: .f16, measure: .flops,
                amount: 2 * Double(n) * Double(n) * Double(n),
                build: { graph, inputs in
                    graph.matmulStrategy = .cooperativeMatrix
                    graph.cooperativeMatrixTile = tile
                    return try graph.matmul(inputs[0], inputs[1])
                },
                inputs: [([n, n], .f32), ([n, n], .f16)]))
            cases.append(Case(
                name: "matmul-linear-tile\(tile.rows)", shape: "\(tokens)x\(features)->\(features)", dtype: .f16,
                measure: .flops, amount: 2 * Double(tokens) * Double(features) * Double(features),
                build: { graph, inputs in
                    graph.matmulStrategy = .cooperativeMatrix
                    graph.cooperativeMatrixTile = tile
                    return try graph.linear(inputs[0], weight: inputs[1], bias: inputs[2])
                },
                inputs: [([tokens, features], .f32), ([features, features], .f16), ([features], .f16)]))
        }
        // A VAE/UNet-style 3×3 convolution and a 1×1 projection (implicit GEMM, f16 weights).
        let (channels, side) = large ? (512, 128) : (64, 32)
        for (kernel, padding) in [(3, 1), (1, 0)] {
            cases.append(Case(
                name: "conv2d-\(kernel)x\(kernel)-f16", shape: "1x\(channels)x\(side)x\(side)->\(channels)",
                dtype: .f16, measure: .flops,
                amount: 2 * Double(channels * channels * kernel * kernel) * Double(side * side),
                build: { graph, inputs in
                    try graph.conv2d(inputs[0], weight: inputs[1], bias: inputs[2], padding: (padding, padding))
                },
                inputs: [([1, channels, side, side], .f32), ([channels, channels, kernel, kernel], .f16),
                         ([channels], .f16)]))
        }
        // Real-ESRGAN's SRVGGNetCompact layers (realesr-animevideov3, ncnn's f16 weights, PReLU fused): the 64-channel
        // body convolution, the first (RGB in) and the last (3·2² out for ×2).
        let esrganSide = large ? 512 : 128
        for (name, inChannels, outChannels) in [("body", 64, 64), ("first", 3, 64), ("last", 64, 12)] {
            cases.append(Case(
                name: "conv2d-esrgan-\(name)", shape: "1x\(inChannels)x\(esrganSide)x\(esrganSide)->\(outChannels)",
                dtype: .f16, measure: .flops,
                amount: 2 * Double(inChannels * outChannels * 9) * Double(esrganSide * esrganSide),
                build: { graph, inputs in
                    let slopes = try graph.cast(inputs[3], to: .f32)
                    return try graph.conv2d(
                        inputs[0], weight: inputs[1], bias: inputs[2], padding: (1, 1),
                        epilogue: outChannels == 64 ? ConvEpilogue(activation: .prelu(slopes: slopes)) : .none)
                },
                inputs: [([1, inChannels, esrganSide, esrganSide], .f32), ([outChannels, inChannels, 3, 3], .f16),
                         ([outChannels], .f32), ([outChannels], .f32)]))
        }
        // Flash attention: self-attention over image tokens (head dim 64), and over a video DiT's (Wan's 128).
        let attentionShapes = [("attention", large ? (4096, 16, 64) : (256, 8, 64)),
                               ("attention-d128", large ? (4096, 12, 128) : (512, 4, 128))]
        for (name, (sequence, heads, headDim)) in attentionShapes {
            cases.append(Case(
                name: name, shape: "L\(sequence) h\(heads) d\(headDim)", dtype: .f32, measure: .flops,
                amount: 4 * Double(sequence) * Double(sequence) * Double(heads * headDim),
                build: { graph, inputs in
                    try graph.attention(query: inputs[0], key: inputs[1], value: inputs[2], heads: heads)
                },
                inputs: Array(repeating: ([1, sequence, heads * headDim], .f32), count: 3)))
        }
        let (groupChannels, groupSide) = large ? (512, 128) : (128, 32)
        cases.append(Case(
            name: "group-norm", shape: "1x\(groupChannels)x\(groupSide)x\(groupSide) g32", dtype: .f32, measure: .bytes,
            amount: Double(groupChannels * groupSide * groupSide) * 12,
            build: { graph, inputs in try graph.groupNorm(inputs[0], groups: 32, weight: inputs[1], bias: inputs[2]) },
            inputs: [([1, groupChannels, groupSide, groupSide], .f32), ([groupChannels], .f32),
                     ([groupChannels], .f32)]))
        let (normRows, normWidth) = large ? (16384, 2048) : (1024, 768)
        cases.append(Case(
            name: "layer-norm", shape: "\(normRows)x\(normWidth)", dtype: .f32, measure: .bytes,
            amount: Double(normRows * normWidth) * 12,
            build: { graph, inputs in try graph.layerNorm(inputs[0], weight: inputs[1], bias: inputs[2]) },
            inputs: [([normRows, normWidth], .f32), ([normWidth], .f32), ([normWidth], .f32)]))
        cases.append(Case(
            name: "softmax", shape: "\(normRows)x\(normWidth)", dtype: .f32, measure: .bytes,
            amount: Double(normRows * normWidth) * 8,
            build: { graph, inputs in try graph.softmax(inputs[0]) }, inputs: [([normRows, normWidth], .f32)]))
        cases.append(Case(
            name: "permute-0213", shape: "\(normRows / 64)x64x\(normWidth / 64)x64", dtype: .f32, measure: .bytes,
            amount: Double(normRows * normWidth) * 8,
            build: { graph, inputs in try graph.permute(inputs[0], [0, 2, 1, 3]) },
            inputs: [([normRows / 64, 64, normWidth / 64, 64], .f32)]))
        let elements = large ? 64 << 20 : 1 << 20
        cases.append(Case(
            name: "add-broadcast", shape: "\(elements / 1024)x1024 + 1024", dtype: .f32, measure: .bytes,
            amount: Double(elements) * 8,
            build: { graph, inputs in try graph.add(inputs[0], inputs[1]) },
            inputs: [([elements / 1024, 1024], .f32), ([1024], .f32)]))
        cases.append(Case(
            name: "silu", shape: "\(elements)", dtype: .f32, measure: .bytes, amount: Double(elements) * 8,
            build: { graph, inputs in try graph.silu(inputs[0]) }, inputs: [([elements], .f32)]))
        cases.append(Case(
            name: "cast-f32-f16", shape: "\(elements)", dtype: .f16, measure: .bytes, amount: Double(elements) * 6,
            build: { graph, inputs in try graph.cast(inputs[0], to: .f16) }, inputs: [([elements], .f32)]))
        return cases
    }

    /// Runs `benchmark` once to warm up (pipeline creation, arena slots), then `repeats` times with timestamps;
    /// convolutions and attention are computed as `convolution` and `attention` say. With `breakdown`, prints each
    /// dispatch's median time.
    public static func measure(_ benchmark: Case, arena: ActivationArena, repeats: Int,
                               convolution: ConvolutionStrategy = .automatic, attention: AttentionStrategy = .automatic,
                               breakdown: Bool = false) throws
        -> Result {
        let device = arena.device
        // A fresh seed each run; SplitMix64 fills the large cases' inputs (tens of millions of values) quickly.
        var generator = SeededRandom(seed: UInt64.random(in: 0...UInt64.max))
        let tensors = try benchmark.inputs.map { shape, dtype in
            let count = shape.reduce(1, *)
            let values = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            return try Tensor(values, shape: shape, dtype: dtype, on: device)
        }
        var samples: [Double] = []
        var dispatches: [[DispatchTiming]] = []
        for iteration in 0...repeats {
            let graph = Graph(arena: arena)
            graph.convolutionStrategy = convolution
            graph.attentionStrategy = attention
            let inputs = tensors.map(graph.input)
            let output = try benchmark.build(graph, inputs)
            let (_, timings) = try graph.runProfiled([output])
            if iteration > 0 {
                samples.append(timings.reduce(0) { $0 + $1.nanoseconds } / 1e6)
                dispatches.append(timings)
            }
        }
        if breakdown, let first = dispatches.first {
            for (index, dispatch) in first.enumerated() {
                let times = dispatches.map { $0[index].nanoseconds / 1e6 }.sorted()
                print("    " + dispatch.label.padding(toLength: 40, withPad: " ", startingAt: 0)
                    + String(format: "%9.3f", times[times.count / 2]))
            }
        }
        samples.sort()
        let median = samples[samples.count / 2]
        let rate = benchmark.amount / (median / 1e3) / 1e9
        return Result(name: benchmark.name, shape: benchmark.shape, dtype: benchmark.dtype.rawValue,
                      gpuMilliseconds: median, gpuMillisecondsMin: samples[0],
                      gflops: benchmark.measure == .flops ? rate : nil,
                      gigabytesPerSecond: benchmark.measure == .bytes ? rate : nil)
    }

    /// Measures each of `cases` in turn on one arena, handing each result to `progress` as it comes.
    public static func run(_ cases: [Case], arena: ActivationArena, repeats: Int,
                           convolution: ConvolutionStrategy = .automatic, attention: AttentionStrategy = .automatic,
                           breakdown: Bool = false, progress: (Result) -> Void = { _ in }) throws -> [Result] {
        try cases.map { benchmark in
            let result = try measure(benchmark, arena: arena, repeats: repeats, convolution: convolution,
                                     attention: attention, breakdown: breakdown)
            progress(result)
            return result
        }
    }

    /// What `--json` prints: the device, its tier and every measured case.
    public struct Report: Codable, Sendable {
        public var device: String
        public var driver: String
        public var tier: String
        public var size: String
        public var results: [Result]

        public init(device: GPUDevice, size: Size, results: [Result]) {
            self.device = device.physical.name
            driver = device.physical.driverName
            tier = device.tier.rawValue
            self.size = size.rawValue
            self.results = results
        }

        /// Pretty-printed JSON with sorted keys, as the commands print it.
        public func json() throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }
}
