import ArgumentParser
import KinoraGPU
import KinoraShaders

/// Options every GPU command shares: which device, how much memory, and validation.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "Device index or part of its name (default: discrete > integrated > CPU).")
    var device: String?

    @Option(name: .long, help: "Memory budget such as 6GB (default: the device's own budget).")
    var vram: String?

    @Flag(name: .long, help: "Enable the Khronos validation layer and print its messages.")
    var validation = false

    /// Opens the selected device with the embedded shaders.
    func open() throws -> GPUDevice {
        var budget: UInt64?
        if let vram {
            guard let parsed = ByteCount.parse(vram) else {
                throw ValidationError("--vram \(vram) is not a size such as 6GB or 512MiB")
            }
            budget = parsed
        }
        // Compiled pipelines persist between runs (KINORA_PIPELINE_CACHE=off keeps them in memory).
        return try GPUDevice(selection: .fromEnvironment(overriding: device), validation: validation ? true : nil,
                             budget: budget, pipelineCacheFolder: PipelineCacheFile.defaultFolder(),
                             shaders: { ShaderLibrary.spirv(named: $0) })
    }
}
