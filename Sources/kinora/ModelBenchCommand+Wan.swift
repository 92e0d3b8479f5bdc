import ArgumentParser
import Foundation
import KinoraGPU
import KinoraModels
import KinoraPipeline

/// `kinora bench model wan21-1.3b|wan22-5b|tiny-wan21|tiny-wan22`: a Wan clip's device memory planned stage by stage
/// (`WanMemoryPlanner`) against the budget, and with `--run` every stage run once (`WanStageRunner`), timed, with
/// the allocator's peak.
extension ModelBenchCommand {
    /// The catalog's tiny Wan families, planned over their committed weights.
    static let tinyWanFamilies = ["tiny-wan21", "tiny-wan22"]

    /// Whether the model argument names a Wan model.
    var isWan: Bool {
        WanCatalogModel(rawValue: model) != nil || WanCatalogModel.allCases.contains { $0.family == model }
            || Self.tinyWanFamilies.contains(model)
    }

    /// What a Wan bench plans: the components and the video they default to.
    struct WanSubject {
        var components: WanStageComponents
        /// The checkpoint's hub name, or the folder of the weights.
        var source: String
        var random: Bool
        var width: Int
        var height: Int
        var frames: Int
        var steps: Int
    }

    /// What `--json` prints for a Wan model.
    struct WanReport: Codable {
        struct Weights: Codable {
            var component: String
            /// Bytes of every tensor in the file (or, for random weights, in F16).
            var fileBytes: UInt64
        }

        var device: String
        var model: String
        var source: String
        var budget: UInt64
        var weights: [Weights]
        var plan: WanMemoryPlan
        var peakBytes: UInt64
        var peakStage: String?
        var fitsBudget: Bool
        var measurements: [WanStageRunner.Measurement]
        var secondsPerStep: Double?
        var secondsPerLatentFrame: Double?
    }

    func validateWan() throws {
        guard sizes.isEmpty else { throw ValidationError("--sizes needs --catalog-figures") }
        if let size, ImageSize(parsing: size) == nil {
            throw ValidationError("--size must be WIDTHxHEIGHT for a Wan model, such as 832x480; got \(size)")
        }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1, got \(frames)") }
        guard (1...UMT5EncoderModel.wanMaxSequenceLength).contains(promptTokens) else {
            throw ValidationError(
                "--prompt-tokens must be between 1 and \(UMT5EncoderModel.wanMaxSequenceLength), got \(promptTokens)")
        }
        guard !streamWeights else {
            throw ValidationError("--stream-weights is for the UNet; a Wan plan streams the DiT when it must")
        }
    }

    func runWan() throws {
        let device = try deviceOptions.open()
        let subject = try wanSubject(device: device)
        let parsed = size.flatMap(ImageSize.init(parsing:))
        let request = WanGenerationRequest(
            width: parsed?.width ?? subject.width, height: parsed?.height ?? subject.height,
            frames: frames ?? subject.frames, promptTokens: promptTokens,
            imageToVideo: subject.components.imageToVideo, precision: precision)
        // Sizes and frame counts the models cannot take are refused here, before any weight is read.
        _ = try subject.components.latentShape(width: request.width, height: request.height, frames: request.frames)
        let budget = device.memory.budget
        if !json {
            print(
                "\(subject.source) at \(request.width)×\(request.height), \(request.frames) frames, "
                    + (subject.random ? "random F16 weights" : "its own weights") + ", "
                    + ActivationPrecision.resolve(precision, weights: subject.components.transformerStore
                        .storageType()).rawValue
                    + " activations, on \(device.physical.name); budget \(ByteCount(budget))"
                    + "\(deviceOptions.vram == nil ? "" : " (--vram)"), largest buffer "
                    + "\(ByteCount(device.memory.maxBufferSize))")
        }
        let weights = [
            ("text_encoder", subject.components.textEncoderStore), ("transformer", subject.components.transformerStore),
            ("vae", subject.components.vaeStore),
        ].map { name, store in
            WanReport.Weights(
                component: name,
                fileBytes: store.tensorNames.reduce(0) { $0 + UInt64((try? store.info($1).byteCount) ?? 0) })
        }
        let plan = try WanMemoryPlanner.plan(subject.components, request, budget: budget, device: device)
        if !json { printWanPlan(plan, weights: weights) }

        var measurements: [WanStageRunner.Measurement] = []
        if runStages {
            // Refused before anything runs: a plan over the budget, or a buffer the device cannot make.
            try plan.checkBudget()
            try plan.checkDeviceBuffers()
            let runner = WanStageRunner(components: subject.components, plan: plan, device: device)
            if !json { print("\nmeasured (--run), on \(device.physical.name):") }
            for stage in plan.stages {
                let measurement: WanStageRunner.Measurement
                switch stage.stage {
                case .textEncoding: measurement = try runner.runTextEncoding()
                case .keyframeEncode: measurement = try runner.runKeyframeEncode()
                case .denoise: measurement = try runner.runDenoise(steps: 2)
                case .decode: measurement = try runner.runDecode()
                }
                measurements.append(measurement)
                if !json { printWanMeasurement(measurement) }
            }
        }
        let step = measurements.first { $0.stage == .denoise }?.unitSeconds.last
        let frame = measurements.first { $0.stage == .decode }.map { decode in
            decode.unitSeconds.count > 1
                ? decode.unitSeconds.dropFirst().reduce(0, +)
                    / Double(decode.unitSeconds.count - 1) : decode.unitSeconds.reduce(0, +)
        }
        if !json, let step, let frame {
            let total =
                (measurements.map(\.seconds).reduce(0, +)
                    - (measurements.first { $0.stage == .denoise }?
                        .seconds ?? 0))
                + Double(steps ?? subject.steps) * step
            print(
                String(
                    format:
                        "  seconds per denoising step %.2f, per decoded latent frame %.2f; %d steps ≈ %.0f s in all "
                        + "(extrapolated)", step, frame, steps ?? subject.steps, total))
        }
        if json {
            let report = WanReport(
                device: device.physical.name, model: model, source: subject.source, budget: budget, weights: weights,
                plan: plan, peakBytes: plan.peakBytes, peakStage: plan.peakStage?.stage.rawValue,
                fitsBudget: plan.fitsBudget, measurements: measurements, secondsPerStep: step,
                secondsPerLatentFrame: frame)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        let messages = device.instance.validationLog.drain()
        for message in messages { FileHandle.standardError.write(Data("validation \(message)\n".utf8)) }
        // Over the budget: a clear error naming the stage and its bytes, and a non-zero exit.
        try plan.checkBudget()
    }

    /// The components the model argument names: a catalogued architecture over random weights, or a Wan folder (a
    /// tiny family's committed weights found as the catalog finds them, or `--weights`).
    func wanSubject(device: GPUDevice, named name: String? = nil) throws -> WanSubject {
        let model = name ?? self.model
        if weights == nil,
            let catalogued = WanCatalogModel(rawValue: model)
                ?? WanCatalogModel.allCases.first(where: { $0.family == model })
        {
            let size = catalogued.defaultSize
            return WanSubject(
                components: try catalogued.components(), source: catalogued.checkpoint, random: true,
                width: size.width, height: size.height, frames: size.frames, steps: 50)
        }
        let family = try catalogFamily(named: model)
        let folder =
            try weights.map { URL(fileURLWithPath: $0) }
            ?? locate(
                family.family, catalog: family.catalog,
                folder: family.folder)
        let defaults = family.family.defaults
        guard let size = defaults.size, let frames = defaults.frames else {
            throw ValidationError("\(family.family.name) has no default size and frames; give --size and --frames")
        }
        return WanSubject(
            components: try WanStageComponents(folder: folder), source: folder.path, random: false,
            width: size.width, height: size.height, frames: frames, steps: defaults.steps ?? 50)
    }

    /// The catalog family the model argument names (a Wan catalog model by its family), with the catalog.
    private func catalogFamily(named model: String) throws
        -> (family: KinoraPipeline.ModelFamily, catalog: ModelCatalog, folder: URL)
    {
        guard let folder = BundledCatalog.locate() else {
            throw ValidationError("no catalog found: set \(BundledCatalog.environmentVariable) to the models/ folder")
        }
        let catalog = try ModelCatalog.load(directory: folder)
        let name = WanCatalogModel(rawValue: model)?.family ?? model
        guard let family = catalog.family(named: name) else {
            throw ValidationError("\(name) is not in the catalog at \(folder.path)")
        }
        return (family, catalog, folder)
    }

    /// The weights of `family`, found as `render` finds a `catalog:` model.
    func locate(_ family: KinoraPipeline.ModelFamily, catalog: ModelCatalog, folder: URL) throws -> URL {
        let reference = ModelReference(
            name: family.name, source: .catalog(family.name), family: family.name,
            location: SourceLocation(file: "command line", line: 1, column: 1))
        let paths = ModelSearchPaths.standard(
            modelsDirs: [], environment: ProcessInfo.processInfo.environment, bundled: folder)
        return try ModelLocator(catalog: catalog, searchPaths: paths, base: nil).locate(reference).url
    }

    /// Sizes the Wan figures are measured at: the default clip and one of about half its sides and frames (the tiny
    /// families: three small clips).
    static let wanFigureSizes: [String: [CatalogActivationFigures.VideoSize]] = [
        "wan21-t2v-1.3b": [.init(width: 416, height: 240, frames: 41), .init(width: 832, height: 480, frames: 81)],
        "wan22-ti2v-5b": [.init(width: 640, height: 352, frames: 61), .init(width: 1280, height: 704, frames: 121)],
        "tiny-wan21": [
            .init(width: 48, height: 32, frames: 9), .init(width: 64, height: 64, frames: 17),
            .init(width: 128, height: 96, frames: 9),
        ],
        "tiny-wan22": [
            .init(width: 64, height: 32, frames: 9), .init(width: 64, height: 64, frames: 17),
            .init(width: 128, height: 96, frames: 9),
        ],
    ]

    /// The activation figures of a Wan family: random weights for the catalogued architectures, else its weights.
    func measureWanFigures(_ family: KinoraPipeline.ModelFamily, weights: URL?, device: GPUDevice) throws
        -> CatalogActivationFigures
    {
        let sizes =
            Self.wanFigureSizes[family.name]
            ?? [
                family.defaults.size.map {
                    .init(width: $0.width, height: $0.height, frames: family.defaults.frames ?? 1)
                }
            ]
            .compactMap { $0 }
        let tokens = [128, UMT5EncoderModel.wanMaxSequenceLength]
        if weights == nil, let catalogued = WanCatalogModel.allCases.first(where: { $0.family == family.name }) {
            if !json {
                print(
                    "\(catalogued.checkpoint), random F16 weights, on \(device.physical.name): planning every stage at "
                        + sizes.map { "\($0.width)x\($0.height)x\($0.frames)" }.joined(separator: ", "))
            }
            return try CatalogActivationFigures.measure(
                wan: try catalogued.components(), name: catalogued.rawValue, sizes: sizes, tokens: tokens,
                method: "WanMemoryPlanner (Graph.memoryPlan of recorded stages), random F16 weights",
                precision: precision, device: device)
        }
        guard let weights else { throw ValidationError("\(family.name): no weights found") }
        return try CatalogActivationFigures.measure(
            wan: try WanStageComponents(folder: weights), name: weights.path, sizes: sizes, tokens: tokens,
            method: "WanMemoryPlanner (Graph.memoryPlan of recorded stages), the folder's weights",
            precision: precision, device: device)
    }

    private func printWanPlan(_ plan: WanMemoryPlan, weights: [WanReport.Weights]) {
        print("\nlatents \(plan.latentShape); weights (file bytes):")
        for item in weights {
            print("  \(pad(item.component, 14)) \(ByteCount(item.fileBytes)) (\(item.fileBytes) bytes)")
        }
        print("\nstages, one after another (each model loaded when its stage starts, freed after):")
        for stage in plan.stages {
            let beyond = stage.largestBufferBytes > plan.deviceMaxBufferBytes ? "  > device's largest buffer" : ""
            print(
                "  \(pad(stage.stage.rawValue, 16)) peak \(pad("\(ByteCount(stage.peakBytes))", 11)) "
                    + "(\(stage.peakBytes) bytes): weights \(ByteCount(stage.weightBytes)), carried "
                    + "\(ByteCount(stage.carriedBytes)), largest buffer \(ByteCount(stage.largestBufferBytes))\(beyond)"
            )
            print("  \(pad("", 16)) \(stage.tactic)")
        }
        let peak = plan.peakStage
        print(
            "\nwhole plan: peak \(ByteCount(plan.peakBytes)) (\(plan.peakBytes) bytes) at "
                + "\(peak?.stage.rawValue ?? "—"); " + (plan.fitsBudget ? "fits" : "does NOT fit") + " the budget of \(ByteCount(plan.budget))")
        let beyond = plan.stagesBeyondDeviceBuffer
        if !beyond.isEmpty {
            print(
                "this device's largest buffer is \(ByteCount(plan.deviceMaxBufferBytes)): "
                    + beyond.map { "\($0.stage.rawValue) needs \(ByteCount($0.largestBufferBytes))" }
                    .joined(separator: ", ") + "; those stages cannot run on it at this size")
        }
    }

    private func printWanMeasurement(_ measurement: WanStageRunner.Measurement) {
        let unit: String
        switch measurement.stage {
        case .textEncoding: unit = "per prompt"
        case .keyframeEncode: unit = "encode"
        case .denoise: unit = "per step (the first uploads the weights)"
        case .decode: unit = "per latent frame (the first starts the cache)"
        }
        let units = measurement.unitSeconds.map { String(format: "%.2f", $0) }.joined(separator: ", ")
        let verdict = measurement.measuredPeakBytes == measurement.predictedPeakBytes ? "=" : "≠"
        print(
            "  \(pad(measurement.stage.rawValue, 16)) "
                + String(format: "%8.2f s", measurement.seconds) + "  (\(unit): \(units) s)  peak measured "
                + "\(measurement.measuredPeakBytes) \(verdict) predicted \(measurement.predictedPeakBytes) bytes")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text.padding(toLength: width, withPad: " ", startingAt: 0)
    }
}
