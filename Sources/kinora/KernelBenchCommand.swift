import ArgumentParser
import Foundation
import KinoraGPU
import KinoraKernelCheck
import KinoraTensor

/// `kinora bench kernels`: GPU time of each kernel from timestamp queries, with GFLOP/s or GB/s.
struct KernelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time each kernel on the GPU (timestamp queries) and report GFLOP/s or GB/s.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(name: .long, help: "small (default; finishes within a minute on lavapipe) or large (for GPUs).")
    var size: KernelBenchmarks.Size = .small

    @Option(name: .long, help: "Only cases whose name contains this text.")
    var filter: String?

    @Option(name: .long, help: "Square matmul size N for the matmul-* cases (default 512 small, 4096 large).")
    var matmulSize: Int?

    @Option(name: .long, help: "Timed repetitions per case (the median is reported).")
    var repeats = 5

    /// The convolution kernels to time (`ConvolutionStrategy`).
    enum Convolution: String, ExpressibleByArgument {
        case automatic, fastest, sharedMemory = "shared-memory", direct, winograd
        case cooperativeMatrix = "cooperative-matrix"

        var strategy: ConvolutionStrategy {
            switch self {
            case .automatic: .automatic
            case .fastest: .fastest
            case .sharedMemory: .sharedMemory
            case .direct: .direct
            case .winograd: .winograd
            case .cooperativeMatrix: .cooperativeMatrix
            }
        }
    }

    @Option(name: .long, help: ArgumentHelp("Convolution kernel: automatic (default), fastest, shared-memory, direct, "
        + "winograd or cooperative-matrix."))
    var convolution: Convolution = .automatic

    /// The attention kernels to time (`AttentionStrategy`).
    enum Attention: String, ExpressibleByArgument {
        case automatic, scalar, direct, cooperativeMatrix = "cooperative-matrix"

        var strategy: AttentionStrategy {
            switch self {
            case .automatic: .automatic
            case .scalar: .scalar
            case .direct: .direct
            case .cooperativeMatrix: .cooperativeMatrix
            }
        }
    }

    @Option(name: .long, help: "Attention kernel: automatic (default), scalar, direct or cooperative-matrix.")
    var attention: Attention = .automatic

    @Flag(name: .long, help: "Also print each dispatch's median GPU time.")
    var breakdown = false

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        if let matmulSize, matmulSize < 1 { throw ValidationError("--matmul-size must be positive") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let cases = KernelBenchmarks.cases(for: device, size: size, matmulSize: matmulSize)
            .filter { filter.map($0.name.contains) ?? true }
        guard !cases.isEmpty else { throw ValidationError("no benchmark case matches --filter \(filter ?? "")") }
        if !json {
            print("\(device.summary), size \(size.rawValue), median of \(repeats)")
            print(KernelBenchmarks.Result.header)
        }
        let results = try KernelBenchmarks.run(
            cases, arena: ActivationArena(device: device), repeats: repeats, convolution: convolution.strategy,
            attention: attention.strategy, breakdown: breakdown && !json) { if !json { print($0.row) } }
        if json {
            print(try KernelBenchmarks.Report(device: device, size: size, results: results).json())
        }
        let messages = device.instance.validationLog.drain()
        for message in messages { FileHandle.standardError.write(Data("validation \(message)\n".utf8)) }
    }
}

extension KernelBenchmarks.Size: ExpressibleByArgument {}
