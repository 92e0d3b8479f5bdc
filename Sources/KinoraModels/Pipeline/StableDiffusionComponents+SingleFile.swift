import Foundation
import KinoraFormats

extension StableDiffusionComponents {
    /// Opens an A1111/ComfyUI single-file checkpoint of SD 1.x, SD 2.x or SDXL. The file is mapped once and each
    /// component reads its tensors from it under internal names. Configurations are inferred from tensor shapes
    /// and the family's defaults, or read from `options.configuration`; SD 2.x's text encoder keeps all but
    /// OpenCLIP's last layer (the pipeline conditions on the penultimate one). The scheduler is the family's, its
    /// prediction type the file's `v_pred` marker or `options.prediction` where given.
    public init(singleFile url: URL, options: SingleFileOptions = SingleFileOptions()) throws {
        let checkpoint = try SingleFileCheckpoint(url: url)
        let family = checkpoint.family
        func configurationFile(_ path: String) -> URL? {
            guard let folder = options.configuration else { return nil }
            let file = folder.appending(path: path)
            return FileManager.default.fileExists(atPath: file.path) ? file : nil
        }

        func encoder(_ component: ModelComponent) throws -> TextEncoder {
            var configuration: CLIPTextConfig
            if let file = configurationFile("\(component.rawValue)/config.json") {
                configuration = try CLIPTextConfig.load(from: file)
            } else {
                configuration = try CLIPTextConfig.inferred(from: checkpoint.store(component), family: family,
                                                            activation: checkpoint.activation(of: component))
                if family == .sd2 {
                    guard configuration.numHiddenLayers > 1 else {
                        throw WeightsError.unrecognizedCheckpoint(
                            file: url.path, reason: "the SD 2.x text encoder has one layer; it needs a penultimate")
                    }
                    configuration.numHiddenLayers -= 1
                }
            }
            return TextEncoder(configuration: configuration,
                               store: try checkpoint.store(component, layers: configuration.numHiddenLayers),
                               withProjection: component == .textEncoder2)
        }
        textEncoder = try encoder(.textEncoder)
        textEncoder2 = family == .sdxl ? try encoder(.textEncoder2) : nil

        let pads = family.tokenizerPadTokens
        tokenizer = try Self.tokenizer(options, folder: configurationFile("tokenizer"), pad: pads[0], checkpoint: url)
        tokenizer2 = family == .sdxl
            ? try Self.tokenizer(options, folder: configurationFile("tokenizer_2"), pad: pads[1], checkpoint: url)
            : nil

        unetStore = try checkpoint.store(.unet)
        unetConfiguration = try configurationFile("unet/config.json").map(UNet2DConditionConfig.init(contentsOf:))
            ?? UNet2DConditionConfig.inferred(from: unetStore, family: family,
                                              pooledDimension: textEncoder2?.configuration.projectionDim)
        vaeStore = try checkpoint.store(.vae)
        vaeConfiguration = try configurationFile("vae/config.json").map(AutoencoderKLConfiguration.load(from:))
            ?? AutoencoderKLConfiguration.inferred(from: vaeStore, family: family)

        var scheduler = try configurationFile("scheduler/scheduler_config.json")
            .map(SchedulerConfiguration.init(contentsOf:))
            ?? family.schedulerConfiguration(prediction: family.predictionType)
        if checkpoint.declaresVPrediction { scheduler.predictionType = .vPrediction }
        if let prediction = options.prediction { scheduler.predictionType = prediction }
        schedulerConfiguration = scheduler

        let indexFile = configurationFile("model_index.json")
        try indexFile.map(RegularFile.require)
        let index = indexFile
            .flatMap { try? JSONSerialization.jsonObject(with: Data(contentsOf: $0)) as? [String: Any] }
        zerosForEmptyNegative = index?["force_zeros_for_empty_prompt"] as? Bool ?? family.zerosForEmptyNegative
        self.family = family
    }

    /// The tokenizer `options` name (a folder, or a merges file), else the configuration folder's, else the one
    /// setup installs; its pad token is the family's unless it comes from the configuration folder.
    private static func tokenizer(_ options: SingleFileOptions, folder: URL?, pad: String, checkpoint: URL) throws
        -> CLIPTokenizer {
        if options.tokenizer == nil, let folder {
            try RegularFile.requireTokenizerFiles(in: folder)
            return try CLIPTokenizer(folder: folder)
        }
        let location = options.tokenizer ?? SingleFileOptions.defaultTokenizer
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isDirectory) else {
            throw PipelineError.missingTokenizer(checkpoint: checkpoint.path, looked: location.path)
        }
        if isDirectory.boolValue {
            try RegularFile.requireTokenizerFiles(in: location)
            return try CLIPTokenizer(folder: location, padToken: pad)
        }
        let merges: Data
        do {
            merges = try RegularFile.contents(of: location)
        } catch {
            throw TokenizerError.unreadable(file: location.path, reason: error.localizedDescription)
        }
        return try CLIPTokenizer(bpeMerges: merges, padToken: pad, mergesFile: location.path)
    }
}
