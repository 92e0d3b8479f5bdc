import ArgumentParser
import Foundation
import KinoraGPU
import KinoraShaders

/// `kinora-gpu-check devices`: every Vulkan device as `kinora devices` lists it, then the selected one's limits.
struct CheckDevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List Vulkan devices, then the selected one's tier and limits.")

    @OptionGroup var deviceOptions: CheckDeviceOptions

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    func run() throws {
        print(try DeviceReport.text(DeviceReport.all(selecting: deviceOptions.device), json: json))
        if json { return }
        let device = try deviceOptions.open()
        let limits = DeviceLimits.of(device)
        let tensorCoreKernels = ShaderLibrary.spirv(named: "matmul_coopmat.f16") != nil
        let rows = [
            ("max workgroups", limits.maxWorkgroupCount.map(String.init).joined(separator: " x ")),
            ("max invocations", "\(device.physical.features.maxWorkgroupInvocations) per workgroup"),
            ("max storage buffer", "\(ByteCount(limits.maxStorageBufferRange))"),
            ("max allocation", "\(ByteCount(limits.maxMemoryAllocationSize))"),
            ("memory budget", "\(ByteCount(device.memory.budget))"),
            ("tensor-core kernels",
             tensorCoreKernels ? "yes (in this build)" : "no (glslang 13 missing at build time)"),
        ]
        print("selected: \(device.physical.name), kernel tier \(device.tier.rawValue)")
        for (label, value) in rows { print("  \(label.padding(toLength: 20, withPad: " ", startingAt: 0))\(value)") }
    }
}
