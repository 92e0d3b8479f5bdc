import ArgumentParser
import Foundation

/// `kinora-gpu-check`: what a lent GPU machine runs (`scripts/gpu-check.sh`): the devices, every kernel against its
/// CPU reference, the kernel benchmarks and SD 1.5's UNet step and VAE decode. It links no media libraries, so a
/// release build with `--static-swift-stdlib` needs only glibc and, loaded at run time, the Vulkan loader.
@main
struct GPUCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinora-gpu-check",
        abstract: "Check and time Kinora's kernels on a GPU: devices, conformance, benchmarks, SD 1.5 stages.",
        subcommands: [CheckDevicesCommand.self, ConformanceCommand.self, CheckBenchCommand.self,
                      StableDiffusionStagesCommand.self]
    )
}
