import Foundation
import KinoraGPU
import KinoraMedia
import KinoraModels

/// Everything a render or a plan needs before anything runs: the workflow read and validated, each of its models
/// found on disk and fingerprinted, the stage graph for the mode, and the plan for the budget. `kinora plan` prints
/// the plan; `kinora render` hands all of it to a `RenderExecutor`.
public struct RenderPreparation: Sendable {
    public var workflow: Workflow
    /// The workflow file's folder: relative paths in it (output, music, model paths) start there.
    public var folder: URL
    public var catalog: ModelCatalog
    public var graph: StageGraph
    public var plan: Plan
    /// Where each model's weights are, by `ModelIdentity.key`.
    public var locations: [String: URL]
    /// The LoRA adapters each workflow model merges at load, found on disk, by model name (absent without any).
    public var loras: [String: [LoRAAdapter]]
    /// The `ModelIdentity.key`s of video models' components, which the runner opens as Wan pipelines.
    public var videoModels: Set<String> = []
    /// The diffusers folder each video model given as a single transformer file takes its other parts from, by
    /// `ModelIdentity.key` (absent for a folder).
    public var videoBases: [String: URL] = [:]
    /// Seconds spent reading, locating, building and planning (the planner's overhead).
    public var seconds: Double

    /// Prepares `workflowURL` for `mode` with the catalog in `catalogFolder`, models searched for in `searchPaths`,
    /// and a device with `device`'s budget. A music model's memory is planned by its own planner on
    /// `planningDevice` when one is given (nothing is uploaded), else taken from its catalog figures; a video
    /// model's clips likewise by `WanMemoryPlanner` (`PlannedVideoStageModel`). Throws
    /// `WorkflowError` (file, line, field), `CatalogError` (a model not found, with every place looked in),
    /// `StageGraphError` (also for a tokenizer or configuration a model names that is not there, a LoRA file that is
    /// no adapter Kinora merges, or a music model folder that cannot make the workflow's cues), `PlanError` (the
    /// stage that does not fit) or `FileFingerprint.Failure` (an unreadable music file).
    public static func prepare(workflow workflowURL: URL, mode: RenderMode, catalogFolder: URL,
                               searchPaths: ModelSearchPaths, device: DeviceProfile,
                               planningDevice: GPUDevice? = nil) throws -> RenderPreparation {
        let start = ProcessInfo.processInfo.systemUptime
        let workflow = try Workflow.load(contentsOf: workflowURL)
        let folder = workflowURL.deletingLastPathComponent()
        let catalog = try ModelCatalog.load(directory: catalogFolder)
        let locator = ModelLocator(catalog: catalog, searchPaths: searchPaths, base: folder)
        var found: [String: (url: URL, base: URL?, fingerprint: String, loras: ModelLoRAs)] = [:]
        var locations: [String: URL] = [:]
        var videoBases: [String: URL] = [:]
        var musicFolders: [String: MusicModelFolder] = [:]
        var videoFolders: [String: VideoModelFolder] = [:]
        var videoModels: Set<String> = []
        // Each model's activation types by role, read once from its weights.
        var precisionsByModel: [String: [ComponentRole: ActivationPrecision]] = [:]
        func locate(_ reference: ModelReference) throws
            -> (url: URL, base: URL?, fingerprint: String, loras: ModelLoRAs) {
            let model = try found[reference.name] ?? {
                let located = try locator.locate(reference)
                let base = try locator.baseFolder(of: located, for: reference)
                return (located.url, base,
                        try fingerprint(of: located, base: base, reference: reference, folder: folder),
                        try ModelLoRAs(reference, locator: locator))
            }()
            found[reference.name] = model
            return model
        }
        /// The music folder of `reference`, read once; its problems name the model's entry.
        func musicFolder(_ reference: ModelReference) throws -> MusicModelFolder {
            if let known = musicFolders[reference.name] { return known }
            do {
                let read = try MusicModelFolder.open(locate(reference).url)
                musicFolders[reference.name] = read
                return read
            } catch let error as MusicModelError {
                throw StageGraphError.invalid([SourceIssue(location: reference.location,
                                                           field: "models.\(reference.name)", message: "\(error)")])
            }
        }
        /// The video folder of `reference` (with a single transformer file, the file and its base), read once; its
        /// problems name the model's entry, or its `base` when that is at fault.
        func videoFolder(_ reference: ModelReference) throws -> VideoModelFolder {
            if let known = videoFolders[reference.name] { return known }
            let model = try locate(reference)
            do {
                let read = try VideoModelFolder.open(model.url, base: model.base)
                videoFolders[reference.name] = read
                return read
            } catch {
                let base = (error as? VideoModelFolder.Failure)?.concernsBase == true ? reference.baseLocation : nil
                throw StageGraphError.invalid([SourceIssue(
                    location: base ?? reference.location,
                    field: "models.\(reference.name)" + (base == nil ? "" : ".base"), message: "\(error)")])
            }
        }
        let builder = StageGraphBuilder(
            catalog: catalog,
            provideModel: { reference, family, role in
                let model = try locate(reference)
                let identity = ModelIdentity(name: "\(reference.name)/\(role.rawValue)", family: family.name,
                                             component: role.rawValue,
                                             fingerprint: ModelIdentity.fingerprint(
                                                 weights: model.fingerprint,
                                                 options: model.loras.identityOptions(for: role)),
                                             precision: reference.precision.rawValue)
                let precisions = precisionsByModel[reference.name] ?? activationPrecisions(
                    of: reference, family: family, url: model.url, workflowFolder: folder)
                precisionsByModel[reference.name] = precisions
                guard let stageModel = CatalogStageModel(family: family, role: role, identity: identity,
                                                         adapters: model.loras.descriptions(for: role),
                                                         uploadScratchBytes: try model.loras.scratchBytes(for: role),
                                                         activationPrecision: precisions[role])
                else {
                    throw StageGraphError.invalid([SourceIssue(
                        location: reference.location, field: "models.\(reference.name)",
                        message: "the \(family.name) catalog entry has no \(role.rawValue) component")])
                }
                locations[identity.key] = model.url
                if family.output == .video { videoModels.insert(identity.key) }
                if let base = model.base { videoBases[identity.key] = base }
                if role == .music, let planningDevice {
                    do {
                        return try PlannedMusicStageModel(catalog: stageModel, folder: musicFolder(reference),
                                                          device: planningDevice)
                    } catch let error as StageGraphError {
                        throw error
                    } catch {
                        // The folder's parts do not fit together (weights of another shape or family).
                        throw StageGraphError.invalid([SourceIssue(location: reference.location,
                                                                   field: "models.\(reference.name)",
                                                                   message: "\(error)")])
                    }
                }
                return stageModel
            },
            fingerprint: { file in
                try FileFingerprint.of(file.hasPrefix("/") ? URL(fileURLWithPath: file)
                                       : folder.appendingPathComponent(file))
            },
            musicFolder: { reference, _ in try musicFolder(reference) },
            videoFolder: { reference, _ in try videoFolder(reference) })
        var graph = try builder.build(workflow, mode: mode)
        if let planningDevice, !videoModels.isEmpty {
            let planned = try PlannedVideoStageModel.plan(graph, models: videoModels, locations: locations,
                                                          bases: videoBases, device: planningDevice,
                                                          budget: device.budgetBytes)
            graph.models.merge(planned) { $1 }
        }
        let plan = try Planner(device: device).plan(graph)
        let loras = found.compactMapValues { $0.loras.entries.isEmpty ? nil : $0.loras.adapters }
        return RenderPreparation(workflow: workflow, folder: folder, catalog: catalog, graph: graph, plan: plan,
                                 locations: locations, loras: loras, videoModels: videoModels,
                                 videoBases: videoBases, seconds: ProcessInfo.processInfo.systemUptime - start)
    }

    /// The fingerprint of `reference`'s model found at `located`: its weights and their companions, the parts a
    /// single transformer file takes from its `base` folder (`baseParts`), and the single-file options the reference
    /// gives (the tokenizer and configuration files or folders it names, relative to the workflow's `folder` as the
    /// runner reads them, and the prediction type), which change what it computes. Throws `StageGraphError.invalid`
    /// naming the field when a named tokenizer or configuration is not there.
    static func fingerprint(of located: ModelLocator.Located, base: URL? = nil, reference: ModelReference,
                            folder: URL) throws -> String {
        let weights = try FileFingerprint.of(located.url, companions: companions(of: located))
        var options: [(name: String, value: String)] = []
        if let base {
            // A part missing from the base is reported by `VideoModelFolder.open`, naming what is missing.
            for part in baseParts where FileManager.default.fileExists(atPath: base.appending(path: part).path) {
                options.append(("base " + part, try FileFingerprint.of(base.appending(path: part))))
            }
        }
        if let prediction = reference.prediction { options.append(("prediction", prediction.rawValue)) }
        for (name, path) in [("tokenizer", reference.tokenizer), ("config", reference.config)] {
            guard let path else { continue }
            let url = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path))
                .standardizedFileURL
            do {
                options.append((name, try FileFingerprint.of(url)))
            } catch let failure as FileFingerprint.Failure {
                throw StageGraphError.invalid([SourceIssue(location: reference.location,
                                                           field: "models.\(reference.name).\(name)",
                                                           message: "\(failure.path): \(failure.reason)")])
            }
        }
        if let tokenizer = defaultTokenizer(of: located, reference: reference, folder: folder) {
            options.append(("default tokenizer", try FileFingerprint.of(tokenizer)))
        }
        return ModelIdentity.fingerprint(weights: weights, options: options)
    }

    /// What a single transformer file takes from its base folder: everything but the base's own transformer weights,
    /// so that replacing those leaves the file's results cached.
    static let baseParts = ["model_index.json", "scheduler", "tokenizer", "text_encoder", "transformer/config.json",
                            "vae"]

    /// The CLIP BPE a single-file checkpoint falls back to (`SingleFileOptions.defaultTokenizer`) when its reference
    /// names no tokenizer and no configuration folder with one; nil otherwise, or when it is not installed (the
    /// runner then says so).
    static func defaultTokenizer(of located: ModelLocator.Located, reference: ModelReference, folder: URL) -> URL? {
        guard located.layout.fileExtension == "safetensors", reference.tokenizer == nil else { return nil }
        if let config = reference.config {
            let url = (config.hasPrefix("/") ? URL(fileURLWithPath: config) : folder.appendingPathComponent(config))
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("tokenizer").path) { return nil }
        }
        let tokenizer = SingleFileOptions.defaultTokenizer
        return FileManager.default.fileExists(atPath: tokenizer.path) ? tokenizer : nil
    }

    /// The files a single-file layout needs next to the located file (a voice's `.onnx.json`, which holds its
    /// phoneme map and sample rate): part of the model, so part of its fingerprint.
    /// An ncnn `.param` graph's weights are its `.bin` of the same name.
    static func companions(of located: ModelLocator.Located) -> [URL] {
        guard located.layout.fileExtension != nil else { return [] }
        if located.url.pathExtension == "param" {
            return [located.url.deletingPathExtension().appendingPathExtension("bin")]
        }
        return located.layout.companions.map { URL(fileURLWithPath: located.url.path + $0) }
    }

    /// Why a workflow cannot be prepared before it is even read.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// No `models/` folder with the catalog was found.
        case noCatalog

        public var description: String {
            "cannot find the model catalog (a models/ folder with sd15.yaml) above the kinora executable or the "
                + "current folder; set \(BundledCatalog.environmentVariable) to it"
        }
    }

    /// Prepares the workflow at `path` with the project's catalog (`BundledCatalog`) and the standard search paths:
    /// `modelsDirs`, then `KINORA_MODELS` from `environment`, then the catalog's own folder.
    /// `planningDevice` plans music models' memory as above.
    public static func prepare(workflow path: String, mode: RenderMode, modelsDirs: [String], budgetBytes: UInt64,
                               flopsPerSecond: Double = DeviceProfile.discreteGPUFlopsPerSecond,
                               timeFactors: [String: Double] = [:], planningDevice: GPUDevice? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> RenderPreparation {
        guard let catalog = BundledCatalog.locate(environment: environment) else { throw Failure.noCatalog }
        return try prepare(workflow: URL(fileURLWithPath: path).standardizedFileURL, mode: mode,
                           catalogFolder: catalog,
                           searchPaths: .standard(modelsDirs: modelsDirs, environment: environment, bundled: catalog),
                           device: {
                               var device = DeviceProfile(budgetBytes: budgetBytes, flopsPerSecond: flopsPerSecond)
                               device.timeFactors = timeFactors
                               return device
                           }(), planningDevice: planningDevice)
    }

    /// `outputURL(override:)` once the checks a render makes before any stage runs have passed: its folder exists
    /// and can be written, and its extension names a container Kinora writes. `kinora plan` makes them too, so it
    /// never approves a workflow that `kinora render` refuses at once.
    public func checkedOutputURL(override: String?) throws -> URL {
        let url = outputURL(override: override)
        _ = try AtomicOutput(url)
        _ = try VideoContainer(for: url)
        return url
    }

    /// Where the output goes: `override` (relative to the current directory) when given, else the workflow's
    /// `output.file` (relative to the workflow's folder).
    public func outputURL(override: String?) -> URL {
        if let override { return URL(fileURLWithPath: override).standardizedFileURL }
        let file = workflow.output.file
        return (file.hasPrefix("/") ? URL(fileURLWithPath: file) : folder.appendingPathComponent(file))
            .standardizedFileURL
    }
}
