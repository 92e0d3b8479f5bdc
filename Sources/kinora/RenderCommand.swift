import ArgumentParser
import Foundation
import KinoraGPU
import KinoraMedia
import KinoraPipeline

/// `kinora render`: a workflow file to the final cut, stage by stage through the plan and the stage cache.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a workflow file (shots, voice lines, music) to a video.",
        discussion: """
            Every shot, voice line and music cue becomes stages (encode text, denoise, decode, animate; phonemize, \
            speak; load or generate music; mix, mux), planned to fit the device's memory and run one model at a \
            time. Each stage's result is kept in a content-addressed cache, so a second render, or one after \
            editing a shot, runs only what changed, and a killed render resumes from its finished stages. The \
            output is written under a temporary name and renamed when complete; a report (<output>.report.json and \
            .report.txt) goes next to it. The workflow format is described in docs/workflow.md.

            Example: kinora render examples/demo.yaml
            """)

    /// How progress is shown.
    enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
        /// Bars on a terminal, one line per finished stage otherwise.
        case auto
        /// Bars redrawn in place.
        case tty
        /// One JSON object per event on standard output.
        case json
        case none
    }

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "The workflow file (YAML).")
    var workflow: String

    @Option(name: .shortAndLong, help: "The output file (default: the workflow's output.file, next to it).")
    var output: String?

    @Flag(name: .long, help: """
        Render with each shot's draft (workhorse) settings: cheaper model, fewer steps; generated music takes a \
        quarter of its steps (at least 8).
        """)
    var draft = false

    @Flag(name: .long, help: "Run every stage; neither read nor fill the cache.")
    var noCache = false

    @Option(name: .long, help: "The stage cache folder (default: $XDG_CACHE_HOME/kinora or ~/.cache/kinora).")
    var cacheDir: String?

    @Option(name: .long, help: "The most the cache may hold; least recently used results go first.")
    var cacheLimit = "10GB"

    @Option(name: .long, help: "How progress is shown: auto, tty, json or none.")
    var progress = ProgressMode.auto

    @Option(name: .long, help: "A models folder to search (ComfyUI layout works); repeatable. Also $KINORA_MODELS.")
    var modelsDir: [String] = []

    @OptionGroup(title: "Render farm") var farmOptions: FarmRenderOptions

    func validate() throws {
        guard ByteAmount(parsing: cacheLimit) != nil else {
            throw ValidationError("--cache-limit \(cacheLimit) is not a size such as 10GB or 512MiB")
        }
        try farmOptions.validate(output: output, noCache: noCache)
        if farmOptions.devices != nil, deviceOptions.device != nil {
            throw ValidationError("--devices gives each shard its device; --device cannot be given with it")
        }
    }

    func run() throws {
        let started = ProcessInfo.processInfo.systemUptime
        let cacheRoot = cacheDir.map { URL(fileURLWithPath: $0) } ?? StageCache.defaultFolder()
        if let devices = farmOptions.deviceList {
            try runDeviceShards(devices, cacheRoot: cacheRoot.standardizedFileURL)
        }
        let device = try deviceOptions.open()
        let timingsURL = cacheRoot.appendingPathComponent(TimeCalibration.fileName)
        var calibration = TimeCalibration.load(from: timingsURL)
        let preparation = try RenderPreparation.prepare(workflow: workflow, mode: draft ? .draft : .final,
                                                        modelsDirs: modelsDir, budgetBytes: device.memory.budget,
                                                        flopsPerSecond: Self.flopsPerSecond(of: device),
                                                        timeFactors: calibration.factors(device: device.physical.name),
                                                        planningDevice: device)
        Self.warn(preparation.workflow.warnings.map(\.description))
        if let shard = try farmOptions.shardIndex() {
            try runShard(shard, preparation: preparation, device: device, cacheRoot: cacheRoot, started: started)
            return
        }
        // The codec is checked against the container when the mux opens it.
        let outputURL = try preparation.checkedOutputURL(override: output)
        let graph = output == nil ? preparation.graph : preparation.graph.writing(to: outputURL.path)
        let assembly = farmOptions.assemble || farmOptions.devices != nil
            ? try startAssembly(preparation, cacheRoot: cacheRoot) : nil

        let cache = try StageCache(root: cacheRoot, sizeLimit: ByteAmount(parsing: cacheLimit)?.bytes)
        let runner = makeRunner(preparation, device: device)
        let executor = RenderExecutor(
            graph: graph, plan: preparation.plan, runner: runner, cache: cache, useCache: !noCache,
            progress: sinks() + (assembly.map { [$0] } ?? []), deliver: { stage, folder in
                guard stage.kind == .mux else { return }
                try Self.place(from: folder, at: outputURL)
            })
        let report: RenderReport
        do {
            report = try executor.run()
        } catch {
            try? assembly?.fail(error)
            throw error
        }
        Self.warn(runner.warnings)
        if !noCache {
            Self.storeTimings(of: report, plan: preparation.plan, graph: graph, device: device,
                              calibration: &calibration, at: timingsURL)
        }
        if let assembly {
            try finishAssembly(assembly, report: report, graph: preparation.graph)
        }
        let files = try report.write(besides: outputURL)
        let seconds = ProcessInfo.processInfo.systemUptime - started
        let summary = report.summary() + "\n" + String(format: "Planned in %.0f ms; %.1f s in all.",
                                                       preparation.seconds * 1000, seconds)
        note([summary, "Report: \(files.json.path)", "Output: \(outputURL.path)"].joined(separator: "\n"))
    }

    /// Prints `line` where the render's own lines go (standard error under `--progress json`, whose standard output
    /// carries only the events).
    func note(_ line: String) {
        if progress == .json {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } else {
            print(line)
        }
    }

    /// The runner of `preparation`'s models on `device`.
    func makeRunner(_ preparation: RenderPreparation, device: GPUDevice) -> ChainStageRunner {
        ChainStageRunner(device: device, workflow: preparation.workflow, workflowFolder: preparation.folder,
                         locations: preparation.locations, loras: preparation.loras,
                         videoModels: preparation.videoModels, videoBases: preparation.videoBases)
    }

    /// Adds what `report` measured to `calibration` and stores it at `url`, so the next plan's time estimates learn
    /// from this render; failing to store it loses nothing else (a warning says so).
    static func storeTimings(of report: RenderReport, plan: Plan, graph: StageGraph, device: GPUDevice,
                             calibration: inout TimeCalibration, at url: URL) {
        calibration.record(report, plan: plan, graph: graph, device: device.physical.name)
        do {
            try calibration.save(to: url)
        } catch {
            warn(["could not store the render's timings in \(url.path): " + error.localizedDescription])
        }
    }

    /// The arithmetic rate the plan's time estimates assume for `device`: a CPU driver is three to four orders of
    /// magnitude slower than a discrete GPU.
    static func flopsPerSecond(of device: GPUDevice) -> Double {
        device.physical.kind == .cpu ? DeviceProfile.cpuDriverFlopsPerSecond : DeviceProfile.discreteGPUFlopsPerSecond
    }

    /// Prints each warning on standard error.
    static func warn(_ warnings: [String]) {
        for warning in warnings {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
    }

    func sinks() -> [any ProgressSink] {
        switch progress {
        case .auto: return [TerminalProgressRenderer(interactive: isatty(STDERR_FILENO) != 0)]
        case .tty: return [TerminalProgressRenderer(interactive: true)]
        case .json: return [JSONLinesProgressWriter()]
        case .none: return []
        }
    }

    /// Copies the mux stage's `output.*` to `url` under a temporary name, renamed when complete.
    private static func place(from folder: URL, at url: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        guard let name = names.first(where: { $0.hasPrefix("output.") }) else {
            throw RunnerError.missingInput(stage: "output/mux", file: "output.*")
        }
        let output = try AtomicOutput(url)
        do {
            try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: output.temporaryURL)
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }
}
