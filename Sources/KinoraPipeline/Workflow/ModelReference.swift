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

    /// The precision weights are held in on the device.
    public enum Precision: String, Sendable, Hashable, CaseIterable {
        /// The dtype the file stores.
        case auto
        case f32, f16, bf16
    }

    /// The name shots and voice lines use.
    public var name: String
    public var source: Source
    /// The catalog family (`sd15`, `sdxl`, `piper-vits`, ...): given with `path`, the catalog name itself otherwise.
    public var family: String
    public var precision: Precision
    public var location: SourceLocation

    public init(name: String, source: Source, family: String, precision: Precision = .auto,
                location: SourceLocation) {
        self.name = name
        self.source = source
        self.family = family
        self.precision = precision
        self.location = location
    }

    static let keys = ["path", "catalog", "family", "precision"]

    /// Reads one entry of `models`: exactly one of `path` and `catalog`; `family` is required with `path`.
    init?(reading field: YAMLField, name: String) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let path = mapping["path"]?.string()
        let catalog = mapping["catalog"]?.string()
        let family = mapping["family"]?.string()
        let precision = mapping["precision"].map {
            $0.choice(Precision.allCases.map(\.rawValue), aliases: ["fp32": "f32", "fp16": "f16", "half": "f16"])
        } ?? Precision.auto.rawValue
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
        guard let precision = precision.flatMap(Precision.init(rawValue:)) else { return nil }
        self.init(name: name, source: source, family: resolvedFamily, precision: precision, location: field.location)
    }
}
