import ArgumentParser

/// The `kinora` command: local-GPU generative media on Vulkan.
@main
struct Kinora: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinora",
        abstract: "Local-GPU generative media on Vulkan.",
        subcommands: [DevicesCommand.self, ImageCommand.self, BenchCommand.self, EncodeCommand.self, MixCommand.self,
                      SpeakCommand.self, RenderCommand.self, PlanCommand.self]
    )
}
