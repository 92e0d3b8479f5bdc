import Foundation
import KinoraGPU
import KinoraModels

/// The `StageRunner` that renders for real: Stable Diffusion pipelines encode text, denoise and decode on the
/// device, Wan pipelines make video shots' clips, Real-ESRGAN upscales and RIFE interpolates them frame by frame, a
/// Piper voice speaks, a music model (Stable Audio) generates cues, and KinoraMedia turns stills and clips into
/// frames, mixes the audio and writes the final file. Every stage reads its inputs from, and writes its result into,
/// the folders the executor hands it.
///
/// Loading follows the plan: a pipeline is opened for a weights folder when the first of its components is loaded
/// and dropped (with its device weights and activation arena, the allocator trimmed after) when the last is
/// evicted; a voice or a music model is loaded and dropped on its own. Each run measures the device allocator's peak
/// from a fresh start, so the report can set it beside the plan's prediction.
public final class ChainStageRunner: StageRunner {
    public let device: GPUDevice
    public let workflow: Workflow
    /// The folder the workflow's relative paths (music files) start from.
    public let workflowFolder: URL
    /// Where each model's weights are, by `ModelIdentity.key`.
    let locations: [String: URL]
    /// The LoRA adapters each workflow model merges into its weights as they load, by model name.
    let loras: [String: [LoRAAdapter]]
    /// Open pipelines by `pipelineKey` (the weights path, with the single-file options and LoRA adapters when
    /// given), with the roles the plan has loaded from them.
    var pipelines: [String: OpenPipeline] = [:]
    var voices: [String: PiperSynthesizer] = [:]
    /// Open music generators by `ModelIdentity.key`.
    var musicGenerators: [String: any MusicGenerator] = [:]
    /// The `ModelIdentity.key`s of video models' components (Wan), which open a `WanVideoPipeline`.
    let videoModels: Set<String>
    /// The diffusers folder each video model given as a single transformer file takes its other parts from, by
    /// `ModelIdentity.key`.
    let videoBases: [String: URL]
    /// Open video pipelines by weights folder (or file and base), with the roles the plan has loaded from them.
    var videoPipelines: [String: OpenVideoPipeline] = [:]
    /// The autoregressive loop of the stream chunk made last, kept for the stream's next chunk.
    var liveStream: LiveStream?
    /// Loaded upscalers and interpolators by `ModelIdentity.key`, with the arena their stages run in.
    var frameModels: [String: OpenFrameModel] = [:]
    /// Things the user should know that do not stop the render (a voice line running past its `end`).
    public private(set) var warnings: [String] = []

    /// A pipeline and the components of it that are loaded.
    struct OpenPipeline {
        var pipeline: StableDiffusionPipeline
        var roles: Set<ComponentRole>
    }

    /// `videoModels`: the keys of the video models' components (`RenderPreparation.videoModels`); `videoBases`: the
    /// base folders of those that are single transformer files (`RenderPreparation.videoBases`).
    public init(device: GPUDevice, workflow: Workflow, workflowFolder: URL, locations: [String: URL],
                loras: [String: [LoRAAdapter]] = [:], videoModels: Set<String> = [],
                videoBases: [String: URL] = [:]) {
        self.device = device
        self.workflow = workflow
        self.workflowFolder = workflowFolder
        self.locations = locations
        self.loras = loras
        self.videoModels = videoModels
        self.videoBases = videoBases
    }

    /// Opens the model's weights (memory-mapped; they upload on first use). A UNet the plan streams uploads only
    /// its head and tail: its denoise stages run with `WeightStreaming.on` (see `denoise`). The pipeline's own
    /// memory plan still checks every stage against the budget and picks tiled decode and sequential guidance.
    public func load(_ model: any StageModel, streamed: Bool) throws {
        let key = model.identity.key
        guard let url = locations[key] else {
            throw RunnerError.unknownModel(stage: "load", key: model.identity.name)
        }
        let role = ComponentRole(rawValue: model.identity.component) ?? .denoiser
        if role == .voice {
            voices[key] = try PiperSynthesizer(files: PiperVoiceFiles(path: url), device: device)
            return
        }
        if role == .music {
            musicGenerators[key] = try Self.openMusicGenerator(
                MusicModelFolder.open(url), device: device, precision: model.identity.activationPrecision)
            return
        }
        if videoModels.contains(key) {
            try loadVideo(url, base: videoBases[key], role: role, precision: model.identity.activationPrecision)
            return
        }
        if role == .upscaler || role == .interpolator {
            try loadFrameModel(key, url: url, role: role, precision: model.identity.activationPrecision)
            return
        }
        let reference = self.reference(of: model)
        let pipelineKey = self.pipelineKey(url, reference)
        var open = try pipelines[pipelineKey] ?? OpenPipeline(pipeline: openPipeline(url, reference), roles: [])
        open.roles.insert(role)
        pipelines[pipelineKey] = open
    }

    /// Drops the model: the evicted component's device weights (text encoders, UNet or VAE) are released from its
    /// pipeline at once, so the next model has the room the plan counted on even while the pipeline's other
    /// components stay loaded; the pipeline goes when none of its components is loaded any more.
    public func evict(_ model: any StageModel) throws {
        let key = model.identity.key
        let role = ComponentRole(rawValue: model.identity.component) ?? .denoiser
        if videoModels.contains(key), let url = locations[key],
           evictVideo(url, base: videoBases[key], role: role, precision: model.identity.activationPrecision) {
            device.memory.trim()
            return
        }
        if let open = frameModels.removeValue(forKey: key) {
            open.arena.trim()
            device.memory.trim()
            return
        }
        let pipelineKey = locations[key].map { self.pipelineKey($0, reference(of: model)) }
        if voices.removeValue(forKey: key) == nil, musicGenerators.removeValue(forKey: key) == nil, let pipelineKey,
           var open = pipelines[pipelineKey] {
            open.roles.remove(role)
            try Self.release(role, of: open.pipeline)
            pipelines[pipelineKey] = open.roles.isEmpty ? nil : open
        }
        device.memory.trim()
    }

    /// Frees the device weights of `role`'s component of `pipeline`.
    static func release(_ role: ComponentRole, of pipeline: StableDiffusionPipeline) throws {
        switch role {
        case .textEncoder: pipeline.releaseTextEncoders()
        case .denoiser: try pipeline.releaseUNet()
        case .decoder: try pipeline.releaseVAE()
        case .voice, .music, .upscaler, .interpolator: break
        }
    }

    public func run(_ stages: [Stage], model: (any StageModel)?, tactic: Tactic?, inputs: [String: URL],
                    outputs: [String: URL], step: (String, Int) -> Void) throws -> UInt64? {
        device.memory.trim()
        device.memory.resetPeak()
        try withoutActuallyEscaping(step) { step in
            try run(stages, model: model, tactic: tactic, inputs: inputs, outputs: outputs, step: step)
        }
        return model == nil ? nil : device.memory.peakBytes
    }

    private func run(_ stages: [Stage], model: (any StageModel)?, tactic: Tactic?, inputs: [String: URL],
                     outputs: [String: URL], step: @escaping (String, Int) -> Void) throws {
        if let video = videoPipeline(for: model) {
            if stages.count > 1, stages.allSatisfy({ $0.kind == .denoise && $0.parameters.int("chunk") == nil }) {
                try denoiseVideos(stages, pipeline: video, model: model, tactic: tactic, inputs: inputs,
                                  outputs: outputs, progress: step)
                return
            }
            for stage in stages {
                guard let folder = outputs[stage.id] else {
                    throw RunnerError.missingInput(stage: stage.id, file: "its output folder")
                }
                try runVideo(stage, pipeline: video, model: model, tactic: tactic, inputs: inputs, into: folder) {
                    step(stage.id, $0)
                }
            }
            return
        }
        if let first = stages.first, stages.allSatisfy({ $0.kind == .denoise }) {
            try denoise(stages, pipeline: pipeline(for: first, model: model), model: model, texts: inputs,
                        tactic: tactic, into: outputs, progress: step)
            return
        }
        for stage in stages {
            guard let folder = outputs[stage.id] else {
                throw RunnerError.missingInput(stage: stage.id, file: "its output folder")
            }
            let input = { (index: Int) throws -> URL in
                guard stage.inputs.indices.contains(index), let url = inputs[stage.inputs[index]] else {
                    throw RunnerError.missingInput(stage: stage.id, file: "input \(index + 1)")
                }
                return url
            }
            let progress = { (done: Int) in step(stage.id, done) }
            switch stage.kind {
            case .encodeText:
                try encodeText(stage, pipeline: pipeline(for: stage, model: model), model: model, into: folder)
                progress(1)
            case .denoise:
                try denoise([stage], pipeline: pipeline(for: stage, model: model), model: model, texts: inputs,
                            tactic: tactic, into: outputs, progress: step)
            case .decode:
                try decode(stage, pipeline: pipeline(for: stage, model: model), model: model, latents: input(0),
                           tactic: tactic, into: folder)
                progress(1)
            case .phonemize:
                try phonemize(stage, into: folder)
                progress(1)
            case .speak:
                try speak(stage, model: model, phonemes: input(0), into: folder)
                progress(1)
            case .animate:
                try animate(stage, still: input(0), into: folder, progress: progress)
            case .conform:
                try conform(stage, clip: input(0), into: folder, progress: progress)
            case .upscale:
                try upscale(stage, model: model, tactic: tactic, input: input(0), into: folder, progress: progress)
            case .interpolate:
                try interpolate(stage, model: model, clip: input(0), into: folder, progress: progress)
            case .encodeImage:
                throw RunnerError.unsupported(stage: stage.id, reason: "only a video model encodes a keyframe")
            case .encodeVideo:
                try joinShots(stage, shots: stage.inputs.indices.map(input), into: folder, progress: progress)
            case .loadAudio:
                try loadAudio(stage, into: folder)
                progress(1)
            case .generateMusic:
                try generateMusic(stage, model: model, into: folder, progress: progress)
            case .mix:
                try mix(stage, stems: stage.inputs.indices.map(input), into: folder)
                progress(1)
            case .mux:
                // With subtitles the speech inputs follow the mix (which voice lines always have).
                let subtitled = stage.parameters.string("subtitles") != nil
                try mux(stage, video: input(0), audio: stage.inputs.count > 1 ? input(1) : nil,
                        speeches: subtitled ? stage.inputs.indices.dropFirst(2).map(input) : [], into: folder)
                progress(1)
            }
        }
    }

    /// The workflow's reference `model` is a component of (its identity is named `reference/component`).
    func reference(of model: any StageModel) -> ModelReference? {
        workflow.models.first { "\($0.name)/\(model.identity.component)" == model.identity.name }
    }

    /// Where an open pipeline is kept: the weights path, plus the single-file options, the precision and the LoRA
    /// `adapters` (files and strengths, in order) when there are any, so the same file under other options, another
    /// precision or merged with other adapters never shares a pipeline.
    static func pipelineKey(_ url: URL, _ reference: ModelReference?, adapters: [LoRAAdapter] = []) -> String {
        var parts = [url.path]
        if let reference, reference.hasSingleFileOptions { parts.append(reference.singleFileOptionsDescription) }
        if let reference, reference.precision != .auto { parts.append("precision \(reference.precision.rawValue)") }
        parts += adapters.map { "lora \($0.url.path)@\($0.strength)" }
        return parts.joined(separator: "\u{1F}")
    }

    /// The key of the pipeline `reference`'s model opens from `url`, with the reference's adapters.
    func pipelineKey(_ url: URL, _ reference: ModelReference?) -> String {
        Self.pipelineKey(url, reference, adapters: reference.flatMap { loras[$0.name] } ?? [])
    }

    /// The single-file options `reference` gives, its relative paths resolved against `workflowFolder`.
    static func singleFileOptions(_ reference: ModelReference?, workflowFolder folder: URL) -> SingleFileOptions {
        let resolve = { (path: String) in
            (path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)).standardizedFileURL
        }
        let prediction = reference?.prediction.map { $0 == .v ? PredictionType.vPrediction : .epsilon }
        return SingleFileOptions(tokenizer: reference?.tokenizer.map(resolve),
                                 configuration: reference?.config.map(resolve), prediction: prediction)
    }

    /// The Stable Diffusion model at `url`: a diffusers folder, or a single-file checkpoint with `reference`'s
    /// single-file options (relative paths from `workflowFolder`), which a folder refuses.
    static func openComponents(_ url: URL, _ reference: ModelReference?, workflowFolder: URL) throws
        -> StableDiffusionComponents {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if !isDirectory.boolValue {
            let options = singleFileOptions(reference, workflowFolder: workflowFolder)
            return try StableDiffusionComponents(singleFile: url, options: options)
        }
        if let reference, reference.hasSingleFileOptions {
            throw RunnerError.unsupported(stage: "load", reason: "model '\(reference.name)' is the diffusers folder "
                + "\(url.path); 'prediction', 'tokenizer' and 'config' apply to single-file checkpoints only")
        }
        return try StableDiffusionComponents(folder: url)
    }

    /// Opens a diffusers folder, or a single-file checkpoint with the reference's single-file options, with the
    /// reference's LoRA adapters merged into its weights as they upload, its activations in the reference's
    /// `precision` (`auto`: the weights' type).
    private func openPipeline(_ url: URL, _ reference: ModelReference?) throws -> StableDiffusionPipeline {
        let components = try Self.openComponents(url, reference, workflowFolder: workflowFolder)
        let adapters = reference.flatMap { loras[$0.name] } ?? []
        // The stages' predicted peaks come from the catalog's activation figures, which stand for GPUs: they leave
        // out the Winograd workspace `.fastest` adds on CPU drivers, so a render records convolutions as GPUs do and
        // its measured peaks stay within the plan (`kinora image` takes the faster Winograd path there).
        return try StableDiffusionPipeline(components: components.applying(adapters), device: device,
                                           precision: reference?.precision.activationPrecision,
                                           convolutionStrategy: .automatic)
    }

    /// The open pipeline `stage`'s model belongs to.
    private func pipeline(for stage: Stage, model: (any StageModel)?) throws -> StableDiffusionPipeline {
        guard let model, let url = locations[model.identity.key] else {
            throw RunnerError.unknownModel(stage: stage.id, key: stage.model ?? "none")
        }
        guard let open = pipelines[pipelineKey(url, reference(of: model))] else {
            throw RunnerError.modelNotLoaded(stage: stage.id, model: model.identity.name)
        }
        return open.pipeline
    }

    /// The index `i` of the stage's first owner `prefix[i]` (`shots[2]` → 2).
    func ownerIndex(_ stage: Stage, prefix: String) throws -> Int {
        for owner in stage.owners where owner.hasPrefix(prefix + "[") && owner.hasSuffix("]") {
            if let index = Int(owner.dropFirst(prefix.count + 1).dropLast()) { return index }
        }
        throw RunnerError.unknownOwner(stage: stage.id, owner: stage.owners.joined(separator: ", "))
    }

    func note(_ warning: String) {
        warnings.append(warning)
    }

    func string(_ stage: Stage, _ name: String) throws -> String {
        guard let value = stage.parameters.string(name) else {
            throw RunnerError.missingParameter(stage: stage.id, name: name)
        }
        return value
    }

    func int(_ stage: Stage, _ name: String) throws -> Int {
        guard let value = stage.parameters.int(name) else {
            throw RunnerError.missingParameter(stage: stage.id, name: name)
        }
        return value
    }

    func number(_ stage: Stage, _ name: String) throws -> Double {
        guard let value = stage.parameters.number(name) else {
            throw RunnerError.missingParameter(stage: stage.id, name: name)
        }
        return value
    }

    /// Throws `RunnerError.nonFinite` when `values`, the `result` `stage` produced with `model`, hold NaN or an
    /// infinity: such a result would make a black picture or silence, or trap a later stage, and must never reach
    /// the cache.
    func requireFinite(_ values: [Float], _ result: String, of stage: Stage, model: (any StageModel)?) throws {
        let count = values.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
        guard count == 0 else {
            throw RunnerError.nonFinite(stage: stage.id, result: result, count: count, total: values.count,
                                        model: model?.identity.name,
                                        weights: model.flatMap { locations[$0.identity.key]?.path })
        }
    }

    /// The float array `name` in an input stage's `folder`; a file with NaN or infinite values (stored before such
    /// results were refused) is `RunnerError.invalidInput`, which makes the executor discard it and compute it again.
    func readFinite(_ name: String, in folder: URL, for stage: Stage) throws -> (values: [Float], shape: [Int]) {
        let url = try file(name, in: folder, for: stage)
        let array = try FloatArrayFile.read(url)
        guard array.values.allSatisfy(\.isFinite) else {
            throw RunnerError.invalidInput(stage: stage.id, file: url.path, reason: "it holds NaN or infinite values")
        }
        return array
    }

    /// `file` inside a stage folder, which must exist.
    func file(_ name: String, in folder: URL, for stage: Stage) throws -> URL {
        let url = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw RunnerError.missingInput(stage: stage.id, file: name)
        }
        return url
    }

    /// A batch's sampling `step` reported to the one stage of `stages` it concerns (`member`, when the batch's
    /// members run one by one) or to every stage of the batch.
    static func report(_ step: Int, of member: Int?, in stages: [Stage], to progress: (String, Int) -> Void) {
        if let member {
            progress(stages[member].id, step)
        } else {
            for stage in stages { progress(stage.id, step) }
        }
    }
}
