import ArgumentParser
import Foundation
import KinoraGPU

/// `kinora devices`: every Vulkan device with its driver, memory, features and the kernel tier it would run.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List Vulkan devices, their memory, features and kernel tier.")

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    @Option(name: .long, help: "The device request to mark as selected (as --device elsewhere).")
    var device: String?

    func run() throws {
        print(try DeviceReport.text(DeviceReport.all(selecting: device), json: json))
    }
}
