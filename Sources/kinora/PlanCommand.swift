import ArgumentParser
import Foundation
import KinoraGPU
import KinoraPipeline

/// `kinora plan`: what a render would do, without running it.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the plan of a workflow's render: loads, runs, evictions, tactics, peak memory, time.",
        discussion: """
            The budget is --vram when given (no GPU needed), else the device's own. Each model is loaded once and \
            all its work runs back to back; tactics (batch size, batched or sequential guidance, tiled decode) are \
            chosen so the predicted peak stays under the budget. Weights are loaded whole: a model that does not fit \
            the budget with its smallest tactic is refused here, naming the stage and the model.

            Example: kinora plan examples/demo.yaml --vram 1GB
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "The workflow file (YAML).")
    var workflow: String

    @Flag(name: .long, help: "Plan the draft render (each shot's workhorse settings).")
    var draft = false

    @Flag(name: .long, help: "Print the plan as JSON.")
    var json = false

    @Option(name: .long, help: "The stage cache folder whose timings calibrate the estimates (default: render's).")
    var cacheDir: String?

    @Option(name: .long, help: "A models folder to search (ComfyUI layout works); repeatable. Also $KINORA_MODELS.")
    var modelsDir: [String] = []

    func run() throws {
        let budget: UInt64
        // The device sets the time estimates' speed; with --vram the plan needs no device, so one is optional.
        let device: GPUDevice?
        if let vram = deviceOptions.vram {
            guard let parsed = ByteAmount(parsing: vram) else {
                throw ValidationError("--vram \(vram) is not a size such as 6GB or 512MiB")
            }
            budget = parsed.bytes
            device = try? deviceOptions.open()
        } else {
            let opened = try deviceOptions.open()
            budget = opened.memory.budget
            device = opened
        }
        // Earlier renders on the device correct the time estimates (`kinora render` stores them in its cache).
        let cacheRoot = cacheDir.map { URL(fileURLWithPath: $0) } ?? StageCache.defaultFolder()
        let factors = device.map {
            TimeCalibration.load(from: cacheRoot.appendingPathComponent(TimeCalibration.fileName))
                .factors(device: $0.physical.name)
        } ?? [:]
        let preparation = try RenderPreparation.prepare(
            workflow: workflow, mode: draft ? .draft : .final, modelsDirs: modelsDir, budgetBytes: budget,
            flopsPerSecond: device.map(RenderCommand.flopsPerSecond(of:)) ?? DeviceProfile.discreteGPUFlopsPerSecond,
            timeFactors: factors, planningDevice: device)
        RenderCommand.warn(preparation.workflow.warnings.map(\.description))
        _ = try preparation.checkedOutputURL(override: nil)
        if json {
            print(String(decoding: try preparation.plan.json(), as: UTF8.self))
        } else {
            print(preparation.plan.rendered())
            print(String(format: "Planned in %.1f ms.", preparation.seconds * 1000))
        }
    }
}
