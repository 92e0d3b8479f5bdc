import ArgumentParser
import KinoraGPU
import KinoraShaders

/// Which device a check runs on, and whether the Khronos validation layer watches it.
struct CheckDeviceOptions: ParsableArguments {
    @Option(name: .long, help: "Device index or part of its name (default: discrete > integrated > CPU).")
    var device: String?

    @Flag(name: .long, help: "Enable the Khronos validation layer (a conformance case fails on any message).")
    var validation = false

    /// Opens the selected device with the embedded shaders; compiled pipelines are not kept between runs.
    func open() throws -> GPUDevice {
        try GPUDevice(selection: .fromEnvironment(overriding: device), validation: validation ? true : nil,
                      shaders: { ShaderLibrary.spirv(named: $0) })
    }
}
