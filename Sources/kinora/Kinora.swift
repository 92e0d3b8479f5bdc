import ArgumentParser
import Foundation
import KinoraMedia

/// The `kinora` command: local-GPU generative media on Vulkan.
@main
struct Kinora: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinora",
        abstract: "Local-GPU generative media on Vulkan.",
        subcommands: [DevicesCommand.self, ImageCommand.self, VideoCommand.self, BenchCommand.self, EncodeCommand.self,
                      MixCommand.self, SpeakCommand.self, UpscaleCommand.self, InterpolateCommand.self,
                      RenderCommand.self, PlanCommand.self, MusicCommand.self, FarmCommand.self]
    )

    /// Why a command failed, as `ErrorText` words a Foundation file error.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs the command; a Foundation file error that reaches here is printed as its path and reason, not as
    /// Foundation's dump of its domain, code and user info.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as NSError where error.domain == NSCocoaErrorDomain || error.domain == NSPOSIXErrorDomain {
            exit(withError: Failure(description: ErrorText.plain(error)))
        } catch {
            exit(withError: error)
        }
    }
}
