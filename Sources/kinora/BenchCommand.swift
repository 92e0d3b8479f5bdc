import ArgumentParser

/// `kinora bench`: measurements of this machine.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure kernels on this machine's GPU.",
        subcommands: [KernelBenchCommand.self, ModelBenchCommand.self, UpscaleBenchCommand.self])
}
