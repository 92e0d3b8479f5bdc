import ArgumentParser
import Foundation
import KinoraGPU
import KinoraModels
import KinoraTensor

/// `kinora-gpu-check sd15`: SD 1.5's UNet step (batch 2, as with classifier-free guidance) and VAE decode on random
/// f16 weights, in f16 activations unless `--precision` says otherwise (as diffusers runs `torch_dtype=float16`), each
/// run once cold (pipeline creation included) and then `--repeats` times warm, by the wall clock. A stage's time runs
/// from recording its graph to its output, as diffusers' time includes Python dispatching its ops; the recording's
/// own share (with making and uploading the stage's inputs, which the pipeline does for its latents each step) is
/// reported beside it (`record_seconds`), so that a slow step shows whether the host or the GPU held it back.
struct StableDiffusionStagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sd15",
        abstract: "Time SD 1.5's UNet step and VAE decode on random weights (as kinora bench model sd15 --run).")

    @OptionGroup var deviceOptions: CheckDeviceOptions

    @Option(name: .long, help: "Image edge in pixels, a multiple of 8.")
    var size = 512

    @Option(name: .long, help: "Warm runs per stage after the cold one (the median is reported).")
    var repeats = 3

    @Option(name: .long, help: "Activation precision: fp32, fp16 or bf16 (default: the weights' f16).")
    var precision: ActivationPrecision?

    @Flag(name: .long, help: "Print JSON for tools (scripts/bench-torch.py --model reads it).")
    var json = false

    /// One stage's times.
    struct Stage: Codable {
        var name: String
        var shape: String
        var coldSeconds: Double
        var seconds: Double
        /// The warm runs' median time to make and upload the inputs and record the graph (the ops' calls, before
        /// anything is dispatched).
        var recordSeconds: Double

        enum CodingKeys: String, CodingKey {
            case name, shape, seconds
            case coldSeconds = "cold_seconds"
            case recordSeconds = "record_seconds"
        }
    }

    /// What `--json` prints.
    struct Report: Codable {
        var device: String
        var model: String
        var size: Int
        var precision: String
        var stages: [Stage]
    }

    func validate() throws {
        guard size >= 8, size % 8 == 0 else { throw ValidationError("--size must be a positive multiple of 8") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let catalog = CatalogModel.sd15
        let latent = size / 8
        let unet = try catalog.makeUNet(device: device, precision: precision)
        if !json {
            print("\(catalog.checkpoint) at \(size)×\(size), random f16 weights, \(unet.activationDType.rawValue) "
                + "activations, on \(device.physical.name)")
        }
        let unetStage = try time("sd15-unet-step", shape: "\(size)x\(size) batch 2", device: device) { graph in
            let inputs = try CatalogInputs.unet(graph, unet.configuration, batch: 2, height: latent, width: latent)
            return try CatalogInputs.recordUNet(graph, unet, inputs)
        }
        let vae = try catalog.makeAutoencoder(device: device, precision: precision)
        let decodeStage = try time("sd15-vae-decode", shape: "\(size)x\(size)", device: device) { graph in
            let z = try CatalogInputs.latents(graph, channels: vae.configuration.latentChannels, batch: 1,
                                              height: latent, width: latent)
            return try vae.decode(graph, z, tiling: .off)
        }
        let report = Report(device: device.physical.name, model: catalog.rawValue, size: size,
                            precision: unet.activationDType.rawValue, stages: [unetStage, decodeStage])
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
    }

    /// Records `stage` on a fresh graph and runs it, once cold and `repeats` times warm.
    private func time(_ name: String, shape: String, device: GPUDevice, stage: (Graph) throws -> Value) throws
        -> Stage {
        let arena = ActivationArena(device: device)
        var samples: [Double] = []
        var recordings: [Double] = []
        for _ in 0...repeats {
            let graph = Graph(arena: arena)
            let start = Date()
            let output = try stage(graph)
            recordings.append(Date().timeIntervalSince(start))
            let result = try graph.run([output])
            samples.append(Date().timeIntervalSince(start))
            withExtendedLifetime(result) {}
        }
        let median = { (values: [Double]) in values.dropFirst().sorted()[repeats / 2] }
        let timed = Stage(name: name, shape: shape, coldSeconds: samples[0], seconds: median(samples),
                          recordSeconds: median(recordings))
        if !json {
            let columns = [name, shape].map { $0.padding(toLength: 18, withPad: " ", startingAt: 0) }
            print("  " + columns.joined(separator: " ")
                + String(format: "%8.3f s warm (median of %d; recording %.4f s), %8.3f s cold", timed.seconds,
                         repeats, timed.recordSeconds, timed.coldSeconds))
        }
        return timed
    }
}
