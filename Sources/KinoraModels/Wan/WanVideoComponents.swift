import Foundation
import KinoraFormats
import KinoraGPU

/// Where each part of a Wan video model is, as users have them: a diffusers folder (`Wan2.1-T2V-1.3B-Diffusers`,
/// `Wan2.2-TI2V-5B-Diffusers`), or ComfyUI's separate single files (`diffusion_models/wan2.1_t2v_1.3B_fp16`,
/// `vae/wan_2.1_vae`, `text_encoders/umt5_xxl_fp16` or its scaled fp8 version) with a tokenizer beside them.
/// Nothing is read onto the device until `load(device:)`; the paths and the folder's index are checked at once.
public struct WanVideoComponents: Sendable, Equatable {
    /// One component's weights: a diffusers/transformers folder (config.json and weights) or a single file.
    public enum Source: Sendable, Equatable {
        case folder(URL)
        case file(URL)

        public var url: URL {
            switch self {
            case .folder(let url), .file(let url): return url
            }
        }
    }

    /// A tokenizer folder (`tokenizer.json` or `spiece.model`), or one of those files.
    public var tokenizer: URL
    public var textEncoder: Source
    public var transformer: Source
    public var vae: Source
    /// The scheduler's configuration; single files get Wan's UniPC with the shift of their size.
    public var scheduler: SchedulerConfiguration
    /// Whether the model takes per-token timesteps and so a keyframe (Wan 2.2 TI2V's `expand_timesteps`); nil
    /// until known (single files: decided from the transformer's channels when it is loaded).
    public var expandTimesteps: Bool?
    /// A diffusers Wan folder whose `transformer/`, `vae/` and `text_encoder/` `config.json` files replace the
    /// configurations single files would have read off their tensor shapes (as diffusers' `from_single_file(config=)`).
    public var configurationFolder: URL?
    /// LoRA adapters merged into the transformer's weights as they upload (ComfyUI, musubi-tuner/kohya and PEFT
    /// layouts; safetensors or PyTorch files).
    public var loras: [LoRAAdapter] = []

    public init(
        tokenizer: URL, textEncoder: Source, transformer: Source, vae: Source, scheduler: SchedulerConfiguration,
        expandTimesteps: Bool?
    ) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.transformer = transformer
        self.vae = vae
        self.scheduler = scheduler
        self.expandTimesteps = expandTimesteps
    }

    /// A diffusers Wan folder: `model_index.json` naming `WanPipeline` (or `WanImageToVideoPipeline` without an
    /// image encoder), and its `tokenizer/`, `text_encoder/`, `transformer/`, `vae/` and
    /// `scheduler/scheduler_config.json`. Wan 2.2 A14B's two experts (`transformer_2`) and Wan 2.1 I2V's CLIP image
    /// encoder are refused by name.
    public init(folder: URL) throws {
        let fields = try Self.modelIndex(of: folder)
        let className = fields["_class_name"] as? String ?? "(none)"
        guard Self.pipelineClasses.contains(className) else {
            throw WanVideoComponentsError.notAWanFolder(
                path: folder.path,
                reason: "model_index.json names \(className), not "
                    + Self.pipelineClasses.sorted().joined(separator: " or "))
        }
        for (component, what) in [
            ("transformer_2", "Wan 2.2 A14B's second (low-noise) expert"),
            ("image_encoder", "Wan 2.1 I2V's CLIP image encoder"),
        ] where Self.isPresent(fields[component]) {
            throw WanVideoComponentsError.unsupported(path: folder.path, what: "\(component): \(what)")
        }
        let required = [
            "tokenizer", "text_encoder/config.json", "transformer/config.json", "vae/config.json",
            "scheduler/scheduler_config.json",
        ]
        let missing = required.filter { !FileManager.default.fileExists(atPath: folder.appending(path: $0).path) }
        guard missing.isEmpty else {
            throw WanVideoComponentsError.notAWanFolder(
                path: folder.path, reason: "missing \(missing.joined(separator: ", "))")
        }
        self.init(
            tokenizer: folder.appending(path: "tokenizer"),
            textEncoder: .folder(folder.appending(path: "text_encoder")),
            transformer: .folder(folder.appending(path: "transformer")),
            vae: .folder(folder.appending(path: "vae")),
            scheduler: try SchedulerConfiguration(
                contentsOf: folder.appending(path: "scheduler/scheduler_config.json")),
            expandTimesteps: (fields["expand_timesteps"] as? Bool) ?? (className == "WanImageToVideoPipeline"))
    }

    /// ComfyUI-style single files: the transformer, the VAE and the text encoder (each a `.safetensors` or `.pth`
    /// file, or a component folder), and a tokenizer, which those files do not carry. The scheduler is Wan's
    /// UniPC with flow sigmas; its shift (3 for Wan 2.1, 5 for Wan 2.2 TI2V 5B, as their diffusers folders) is
    /// settled by `load(device:)` from the transformer. With `configuration`, a diffusers Wan folder: its
    /// component `config.json` files, its scheduler and its `expand_timesteps` are used where present.
    public init(transformer: Source, vae: Source, textEncoder: Source, tokenizer: URL, configuration: URL? = nil)
        throws
    {
        self.init(
            tokenizer: tokenizer, textEncoder: textEncoder, transformer: transformer, vae: vae,
            scheduler: Self.defaultScheduler(flowShift: nil), expandTimesteps: nil)
        guard let configuration else { return }
        guard case .folder = try Self.source(configuration) else {
            throw WanVideoComponentsError.notAWanFolder(path: configuration.path, reason: "it is a file")
        }
        configurationFolder = configuration
        let scheduler = configuration.appending(path: "scheduler/scheduler_config.json")
        if FileManager.default.fileExists(atPath: scheduler.path) {
            self.scheduler = try SchedulerConfiguration(contentsOf: scheduler)
        }
        let index = configuration.appending(path: "model_index.json")
        if FileManager.default.fileExists(atPath: index.path) {
            expandTimesteps = try Self.modelIndex(of: configuration)["expand_timesteps"] as? Bool
        }
    }

    /// The source at `url`: a folder or a file, by what is there.
    public static func source(_ url: URL) throws -> Source {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw WanVideoComponentsError.missing(path: url.path)
        }
        return isDirectory.boolValue ? .folder(url) : .file(url)
    }

    /// Reads the tokenizer and the weights (the text encoder's and the transformer's stay on the host until a
    /// pass streams or uploads them) and checks that the parts fit together.
    public func load(device: GPUDevice) throws -> WanVideoPipeline {
        try load(stageComponents(name: transformer.url.lastPathComponent), device: device)
    }

    /// The pipeline over `parts`, this model's `stageComponents` (configurations and key-mapped weights), so that a
    /// caller that plans the generation over them opens the files once; the LoRA adapters are merged into the
    /// transformer's weights as they upload.
    public func load(_ parts: WanStageComponents, device: GPUDevice) throws -> WanVideoPipeline {
        let tokenizer = try Self.tokenizer(at: tokenizer)
        let patches = try WanTransformer3DModel.loraPatches(
            loras, store: parts.transformerStore, layers: parts.transformer.numLayers)
        let transformer = try WanTransformer3DModel(
            configuration: parts.transformer,
            weights: DeviceWeights(store: parts.transformerStore, device: device, patches: patches))
        var scheduler = self.scheduler
        if scheduler.flowShift == nil && scheduler.shift == nil {
            scheduler.flowShift = Self.isTI2V5B(transformer.configuration) ? 5 : 3
        }
        return try WanVideoPipeline(
            tokenizer: tokenizer, textEncoder: parts.makeTextEncoder(device: device), transformer: transformer,
            vae: parts.makeAutoencoder(device: device), scheduler: scheduler, expandTimesteps: parts.imageToVideo)
    }

    /// The fields of `folder`'s model_index.json.
    private static func modelIndex(of folder: URL) throws -> [String: Any] {
        let index = folder.appending(path: "model_index.json")
        guard FileManager.default.fileExists(atPath: index.path) else {
            throw WanVideoComponentsError.notAWanFolder(path: folder.path, reason: "it has no model_index.json")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: index))
        } catch {
            throw WanVideoComponentsError.notAWanFolder(
                path: folder.path, reason: "model_index.json is not readable JSON (\(error.localizedDescription))")
        }
        guard let fields = object as? [String: Any] else {
            throw WanVideoComponentsError.notAWanFolder(path: folder.path, reason: "model_index.json is not an object")
        }
        return fields
    }

    /// The configuration folder's `component/config.json`, when there is one.
    func configuration(_ component: String) -> URL? {
        guard let url = configurationFolder?.appending(path: "\(component)/config.json"),
            FileManager.default.fileExists(atPath: url.path)
        else { return nil }
        return url
    }

    /// The pipeline classes whose folders this reads.
    static let pipelineClasses: Set<String> = ["WanPipeline", "WanImageToVideoPipeline"]

    /// Whether a model_index.json entry names a component (`["diffusers", "Class"]`), not `[null, null]` or null.
    private static func isPresent(_ entry: Any?) -> Bool {
        guard let pair = entry as? [Any] else { return false }
        return pair.contains { $0 is String }
    }

    /// Wan 2.2 TI2V 5B: the transformer reads the Wan 2.2 VAE's 48 channels.
    static func isTI2V5B(_ configuration: WanTransformer3DConfig) -> Bool { configuration.inChannels == 48 }

    /// A tokenizer folder, or a `tokenizer.json` / `spiece.model` file.
    static func tokenizer(at url: URL) throws -> T5Tokenizer {
        switch try source(url) {
        case .folder(let folder):
            return try T5Tokenizer(folder: folder)
        case .file(let file):
            let data: Data
            do {
                data = try Data(contentsOf: file)
            } catch {
                throw T5TokenizerError.unreadable(file: file.path, reason: error.localizedDescription)
            }
            if file.pathExtension.lowercased() == "json" {
                return try T5Tokenizer(tokenizerJSON: data, file: file.path)
            }
            return try T5Tokenizer(sentencePieceModel: data, file: file.path)
        }
    }

    /// The scheduler of the Wan diffusers folders (`UniPCMultistepScheduler`, flow prediction with flow sigmas,
    /// order 2, bh2), with `flowShift` (nil: decided when the model is loaded).
    public static func defaultScheduler(flowShift: Double?) -> SchedulerConfiguration {
        var configuration = SchedulerConfiguration()
        configuration.className = UniPCMultistepScheduler.name
        configuration.numTrainTimesteps = 1000
        configuration.betaStart = 0.0001
        configuration.betaEnd = 0.02
        configuration.betaSchedule = "linear"
        configuration.predictionType = .flowPrediction
        configuration.useFlowSigmas = true
        configuration.flowShift = flowShift
        configuration.solverOrder = 2
        configuration.solverType = "bh2"
        configuration.lowerOrderFinal = true
        configuration.predictX0 = true
        configuration.timestepSpacing = .linspace
        configuration.finalSigmasType = "zero"
        configuration.stepsOffset = 0
        configuration.disableCorrector = []
        return configuration
    }
}
