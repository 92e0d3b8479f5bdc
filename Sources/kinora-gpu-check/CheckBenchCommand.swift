import ArgumentParser
import KinoraKernelCheck
import KinoraTensor

/// `kinora-gpu-check bench`: the kernel benchmarks of `kinora bench kernels`, with the same `--json` report.
struct CheckBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time each kernel on the GPU (timestamp queries), as kinora bench kernels does.")

    @OptionGroup var deviceOptions: CheckDeviceOptions

    @Option(name: .long, help: "small (CPU drivers) or large (default; GPUs).")
    var size: KernelBenchmarks.Size = .large

    @Option(name: .long, help: "Only cases whose name contains this text.")
    var filter: String?

    @Option(name: .long, help: "Timed repetitions per case (the median is reported).")
    var repeats = 5

    @Flag(name: .long, help: "Print JSON for tools (scripts/bench-torch.py reads it).")
    var json = false

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let cases = KernelBenchmarks.cases(for: device, size: size).filter { filter.map($0.name.contains) ?? true }
        guard !cases.isEmpty else { throw ValidationError("no benchmark case matches --filter \(filter ?? "")") }
        if !json {
            print("\(device.summary), size \(size.rawValue), median of \(repeats)")
            print(KernelBenchmarks.Result.header)
        }
        let results = try KernelBenchmarks.run(cases, arena: ActivationArena(device: device), repeats: repeats) {
            if !json { print($0.row) }
        }
        if json { print(try KernelBenchmarks.Report(device: device, size: size, results: results).json()) }
    }
}

extension KernelBenchmarks.Size: ExpressibleByArgument {}
