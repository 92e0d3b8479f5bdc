import ArgumentParser
import Foundation
import KinoraGPU
import KinoraModels
import KinoraTensor

/// `kinora bench model`: device memory of a full-size checkpoint architecture (random weights, nothing downloaded),
/// predicted per stage, and with `--run` one UNet step and one VAE decode timed and their peaks measured.
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Predict (and with --run measure) memory and speed of SD 1.5 or SDXL with random weights.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "sd15 or sdxl.")
    var model: String

    @Option(name: .long, help: "Image edge in pixels, a multiple of 8 (default: the model's native size).")
    var size: Int?

    @Option(name: .long, help: "Sampling steps, for the whole-generation time extrapolated from one step.")
    var steps = 30

    @Flag(name: .customLong("run"),
          help: "Also run one UNet step and one VAE decode, timed, with the allocator's peak.")
    var runStages = false

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    /// What one `--run` stage measured.
    struct Measurement: Codable {
        var stage: String
        var seconds: Double
        /// Allocator live bytes just before the run (this stage's weights and inputs).
        var residentBytes: UInt64
        /// Predicted peak: resident bytes + the graph's memory plan.
        var predictedPeakBytes: UInt64
        /// The allocator's measured peak during the run.
        var measuredPeakBytes: UInt64
    }

    /// What `--json` prints.
    struct Report: Codable {
        var device: String
        var model: String
        var checkpoint: String
        var size: Int
        var budget: UInt64
        var memory: CatalogMemoryReport
        var plan: GenerationMemoryPlan
        var measurements: [Measurement]
        var unetSecondsPerStep: Double?
        var predictedGenerationSeconds: Double?
    }

    func validate() throws {
        guard CatalogModel(rawValue: model) != nil else {
            throw ValidationError("model must be one of "
                + CatalogModel.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let size, size < 8 || size % 8 != 0 { throw ValidationError("--size must be a positive multiple of 8") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let catalog = CatalogModel(rawValue: model)!
        let edge = size ?? catalog.nativeSize
        let device = try deviceOptions.open()
        let budget = device.memory.budget
        if !json {
            print("\(catalog.checkpoint) at \(edge)×\(edge), random F16 weights, on \(device.physical.name); "
                + "budget \(ByteCount(budget))")
        }
        let memory = try CatalogMemoryReport.measure(catalog, width: edge, height: edge, device: device)
        if !json { printMemory(memory) }
        // Over budget, this throws PipelineError.overBudget (the bytes needed) before anything runs.
        let plan = try memory.plan(budget: budget)
        if !json { printPlan(plan) }

        var measurements: [Measurement] = []
        var secondsPerStep: Double?
        var generationSeconds: Double?
        if runStages {
            let label = plan.batchedGuidance ? "UNet step (batch 2)" : "UNet pass (batch 1)"
            let unet = try measure(device, label: label) { graph in
                let unet = try catalog.makeUNet(device: device)
                let inputs = try CatalogInputs.unet(graph, unet.configuration, batch: plan.batchedGuidance ? 2 : 1,
                                                    height: edge / 8, width: edge / 8)
                return (try CatalogInputs.recordUNet(graph, unet, inputs), unet)
            }
            let decode = try measure(device, label: plan.tiledDecode ? "VAE decode (tiled)" : "VAE decode") { graph in
                let vae = try catalog.makeAutoencoder(device: device)
                let z = try CatalogInputs.latents(graph, channels: vae.configuration.latentChannels, batch: 1,
                                                  height: edge / 8, width: edge / 8)
                let tiles = plan.decodeTileLatentSize.map {
                    AutoencoderKL.TileConfiguration(latentTileSize: $0, sampleTileSize: $0 * 8)
                }
                return (try vae.decode(graph, z, tiling: tiles == nil ? .off : .on, tiles: tiles), vae)
            }
            measurements = [unet, decode]
            secondsPerStep = unet.seconds * (plan.batchedGuidance ? 1 : 2)
            generationSeconds = Double(steps) * secondsPerStep! + decode.seconds
            if !json {
                print("\nmeasured (--run):")
                for item in measurements {
                    let verdict = item.measuredPeakBytes <= item.predictedPeakBytes ? "≤" : ">"
                    print("  \(item.stage.padding(toLength: 22, withPad: " ", startingAt: 0)) "
                        + String(format: "%8.2f s", item.seconds)
                        + "   peak measured \(ByteCount(item.measuredPeakBytes)) \(verdict) predicted "
                        + "\(ByteCount(item.predictedPeakBytes)) (resident before the run "
                        + "\(ByteCount(item.residentBytes)))")
                }
                print(String(format: "  UNet seconds per step (CFG, %@): %.2f; %d steps + decode ≈ %.0f s "
                             + "(extrapolated)", plan.batchedGuidance ? "batched" : "sequential", secondsPerStep!,
                             steps, generationSeconds!))
            }
        }
        if json {
            let report = Report(device: device.physical.name, model: catalog.rawValue, checkpoint: catalog.checkpoint,
                                size: edge, budget: budget, memory: memory, plan: plan, measurements: measurements,
                                unetSecondsPerStep: secondsPerStep, predictedGenerationSeconds: generationSeconds)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        let messages = device.instance.validationLog.drain()
        for message in messages { FileHandle.standardError.write(Data("validation \(message)\n".utf8)) }
    }

    /// Builds a model and records its graph (uploading its weights), then runs the graph once on a fresh arena
    /// and reports its time and the allocator's peak against `resident + memoryPlan`.
    private func measure(_ device: GPUDevice, label: String, record: (Graph) throws -> (Value, AnyObject)) throws
        -> Measurement {
        device.memory.trim()
        let graph = Graph(arena: ActivationArena(device: device))
        let (output, model) = try record(graph)
        let resident = device.memory.liveBytes
        let predicted = resident + (try graph.memoryPlan([output])).peakBytes
        device.memory.resetPeak()
        let start = Date()
        let result = try graph.run([output])
        let seconds = Date().timeIntervalSince(start)
        let peak = device.memory.peakBytes
        withExtendedLifetime((result, model)) {}
        return Measurement(stage: label, seconds: seconds, residentBytes: resident, predictedPeakBytes: predicted,
                           measuredPeakBytes: peak)
    }

    private func printMemory(_ memory: CatalogMemoryReport) {
        print("\nweights (F16)                 file bytes     uploaded (allocator, measured)")
        for item in memory.weights {
            print("  \(item.component.padding(toLength: 26, withPad: " ", startingAt: 0)) "
                + "\(column(item.fileBytes)) \(column(item.uploadedBytes))")
        }
        print("  \("total".padding(toLength: 26, withPad: " ", startingAt: 0)) "
            + "\(column(memory.weights.reduce(0) { $0 + $1.fileBytes })) \(column(memory.uploadedWeightBytes))")
        print("\nstage activations + outputs   planned (memoryPlan)   model's estimate   inputs")
        let stages = memory.memory
        for stage in [stages.textEncoding, stages.unetBatch1, stages.unetBatch2, stages.decodeUntiled]
            + stages.decodeTiled.map(\.stage) {
            print("  \(stage.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(column(stage.plannedBytes))"
                + "      \(stage.estimatedBytes.map(column) ?? column(nil))   \(ByteCount(stage.inputBytes))")
        }
        if stages.decodeTiled.isEmpty {
            print("  (no tiled decode: the latents are too small to split)")
        } else {
            print("  (tiles of " + stages.decodeTiled.map { "\($0.latentTileSize)" }.joined(separator: ", ")
                + " latents, in that order)")
        }
    }

    private func printPlan(_ plan: GenerationMemoryPlan) {
        print("\npredicted peaks for budget \(ByteCount(plan.budget)) (all weights resident, one stage's "
            + "activations at a time):")
        print("  resident weights \(ByteCount(plan.residentBytes)), conditioning "
            + "\(ByteCount(plan.conditioningBytes))"
            + (plan.releaseTextEncoders ? "; text encoders released after encoding" : ""))
        print("  text encoders  \(ByteCount(plan.textPeakBytes))")
        let guidance = plan.batchedGuidance ? "batched" : "sequential"
        print("  UNet           \(ByteCount(plan.unetPeakBytes))  (guidance \(guidance))")
        let decode = plan.decodeTileLatentSize.map { "tiled, \($0)-latent tiles" } ?? "untiled"
        print("  VAE decode     \(ByteCount(plan.decodePeakBytes))  (\(decode))")
        print("  peak           \(ByteCount(plan.peakBytes))  fits")
    }

    private func column(_ bytes: UInt64?) -> String {
        guard let bytes else { return "—".padding(toLength: 14, withPad: " ", startingAt: 0) }
        return String(describing: ByteCount(bytes)).padding(toLength: 14, withPad: " ", startingAt: 0)
    }
}
