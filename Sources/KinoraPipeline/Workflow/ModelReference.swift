/// A model the workflow names once and its shots and voice lines refer to: where its weights come from (a path, or
/// a family in the catalog found through the search paths), its family, and the precision to run it in.
public struct ModelReference: Sendable, Hashable {
    /// Where the weights are.
    public enum Source: Sendable, Hashable {
        /// A file or folder, as written (relative paths are looked up as `ModelLocator` describes).
        case path(String)
        /// A catalog family, found by the file and folder names its entry lists.
        case catalog(String)
    }

    /// What the UNet of a single-file Stable Diffusion checkpoint predicts, overriding what the file and its family
    /// imply (SD 2.x single files default to v-prediction, but 2.x base at 512 predicts the noise).
    public enum Prediction: String, Sendable, Hashable, CaseIterable {
        /// The added noise ε.
        case epsilon
        /// The velocity v.
        case v
    }

    /// The precision the model's activations run in (its weights always keep their file's dtype on the device).
    public enum Precision: String, Sendable, Hashable, CaseIterable {
        /// The dtype the file stores, as diffusers' `torch_dtype`.
        case auto
        case f32, f16, bf16
    }

    /// The name shots and voice lines use.
    public var name: String
    public var source: Source
    /// The catalog family (`sd15`, `sdxl`, `piper-vits`, ...): given with `path`, the catalog name itself otherwise.
    public var family: String
    public var precision: Precision
    /// Single-file checkpoints only: the prediction type, overriding the file's marker and its family's default.
    public var prediction: Prediction?
    /// Single-file checkpoints only: a tokenizer folder (`vocab.json`, `merges.txt`) or CLIP's merges file, as
    /// written (relative to the workflow's folder).
    public var tokenizer: String?
    /// Single-file checkpoints only: a diffusers folder whose `config.json` files replace the inferred
    /// configurations, as written (relative to the workflow's folder).
    public var config: String?
    /// LoRA adapters merged into the text encoders' and denoiser's weights as they load, in order.
    public var loras: [LoRAReference]
    /// Video models given as a single transformer file: the Wan diffusers folder its VAE, text encoder, tokenizer and
    /// configuration come from, as written: a catalog family (found by its names) or a path (looked up as `path`
    /// is). Nil: the family's catalog `base`, else its own diffusers folder (`ModelLocator.baseFolder(of:for:)`).
    public var base: String?
    /// Where `base` is written, for messages about it.
    public var baseLocation: SourceLocation?
    public var location: SourceLocation

    public init(name: String, source: Source, family: String, precision: Precision = .auto,
                prediction: Prediction? = nil, tokenizer: String? = nil, config: String? = nil,
                loras: [LoRAReference] = [], base: String? = nil, baseLocation: SourceLocation? = nil,
                location: SourceLocation) {
        self.name = name
        self.source = source
        self.family = family
        self.precision = precision
        self.prediction = prediction
        self.tokenizer = tokenizer
        self.config = config
        self.loras = loras
        self.base = base
        self.baseLocation = baseLocation
        self.location = location
    }

    /// Whether any single-file option (`prediction`, `tokenizer`, `config`) is given.
    public var hasSingleFileOptions: Bool { prediction != nil || tokenizer != nil || config != nil }

    /// The single-file options in a canonical form, empty when none is given: part of the cache parameters of
    /// every stage the model runs, since each changes what the model computes.
    public var singleFileOptionsDescription: String {
        [("prediction", prediction?.rawValue), ("tokenizer", tokenizer), ("config", config)]
            .compactMap { name, value in value.map { "\(name)=\($0)" } }.joined(separator: ",")
    }

    static let keys = ["path", "catalog", "family", "precision", "prediction", "tokenizer", "config", "loras", "base"]

    /// Reads one entry of `models`: exactly one of `path` and `catalog`; `family` is required with `path`.
    init?(reading field: YAMLField, name: String) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let path = mapping["path"]?.string()
        let catalog = mapping["catalog"]?.string()
        let family = mapping["family"]?.string()
        let precision = mapping["precision"].map {
            $0.choice(Precision.allCases.map(\.rawValue), aliases: ["fp32": "f32", "fp16": "f16", "half": "f16"])
        } ?? Precision.auto.rawValue
        let prediction = mapping["prediction"].map {
            $0.choice(Prediction.allCases.map(\.rawValue), aliases: ["eps": "epsilon", "v_prediction": "v"])
        }
        let tokenizer = mapping["tokenizer"].map { $0.string() }
        let config = mapping["config"].map { $0.string() }
        let base = mapping["base"].map { $0.string() }
        let loras = mapping["loras"].map { field -> [LoRAReference]? in
            guard let items = field.sequence() else { return nil }
            let read = items.map { LoRAReference(reading: $0) }
            return read.contains { $0 == nil } ? nil : read.compactMap { $0 }
        }
        let source: Source
        let resolvedFamily: String
        switch (path, catalog) {
        case (let path?, nil):
            guard let family else {
                field.fail("a model given by 'path' needs a 'family' (such as sd15, sdxl or piper-vits)")
                return nil
            }
            source = .path(path)
            resolvedFamily = family
        case (nil, let catalog?):
            if let family, family != catalog, let familyField = mapping["family"] {
                familyField.fail("'\(family)' contradicts catalog '\(catalog)'; drop 'family' for catalog models")
                return nil
            }
            source = .catalog(catalog)
            resolvedFamily = catalog
        case (.some, .some):
            field.fail("give either 'path' or 'catalog', not both")
            return nil
        case (nil, nil):
            if !mapping.contains("path"), !mapping.contains("catalog") {
                field.fail("needs 'path' (a file or folder) or 'catalog' (a family name from models/)")
            }
            return nil
        }
        guard let precision = precision.flatMap(Precision.init(rawValue:)),
              prediction.map({ $0 != nil }) ?? true, tokenizer.map({ $0 != nil }) ?? true,
              config.map({ $0 != nil }) ?? true, loras.map({ $0 != nil }) ?? true,
              base.map({ $0 != nil }) ?? true else { return nil }
        self.init(name: name, source: source, family: resolvedFamily, precision: precision,
                  prediction: prediction.flatMap { $0.flatMap(Prediction.init(rawValue:)) },
                  tokenizer: tokenizer ?? nil, config: config ?? nil, loras: (loras ?? nil) ?? [],
                  base: base ?? nil, baseLocation: mapping["base"]?.location, location: field.location)
    }
}
