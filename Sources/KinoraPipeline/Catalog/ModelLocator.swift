import Foundation

/// Finds the weights of a workflow's models: an explicit `path`, or a catalog family's known names, looked up
/// through `ModelSearchPaths`, and checks what it finds against the family's layouts.
public struct ModelLocator: Sendable {
    public var catalog: ModelCatalog
    public var searchPaths: ModelSearchPaths
    /// The folder relative workflow paths start from (the workflow file's folder).
    public var base: URL?

    public init(catalog: ModelCatalog, searchPaths: ModelSearchPaths, base: URL?) {
        self.catalog = catalog
        self.searchPaths = searchPaths
        self.base = base
    }

    /// A model found on disk.
    public struct Located: Sendable, Hashable {
        public var url: URL
        public var family: ModelFamily
        public var layout: ModelFamily.Layout
    }

    /// Finds `model`. Throws `CatalogError.unknownFamily`, `.notFound` (listing every place looked in) or
    /// `.incomplete` (a folder that lacks files its layout needs).
    public func locate(_ model: ModelReference) throws -> Located {
        let family = try catalog.family(of: model)
        let preferred = family.layouts.compactMap(\.folder) + family.components.compactMap(\.folder)
        let candidates: [URL]
        switch model.source {
        case .path(let path):
            candidates = searchPaths.candidates(for: path, base: base, preferred: preferred)
        case .catalog:
            candidates = catalogCandidates(family)
        }
        var firstProblem: (URL, String)?
        for url in candidates where FileManager.default.fileExists(atPath: url.path) {
            switch match(url, family: family) {
            case .success(let layout):
                return Located(url: url, family: family, layout: layout)
            case .failure(let problem):
                firstProblem = firstProblem ?? (url, problem.message)
            }
        }
        if let (url, problem) = firstProblem {
            throw CatalogError.incomplete(model: model.name, path: url.path, location: model.location,
                                          problem: problem)
        }
        throw CatalogError.notFound(model: model.name, family: family.name, location: model.location,
                                    searched: candidates.map(\.path))
    }

    /// Finds `lora`, an adapter `model` names: an absolute path, or a relative one tried in the workflow's folder,
    /// then each search root and its ComfyUI subfolders (`loras/` first). Throws `CatalogError.loraNotFound`
    /// (listing every place looked in) or `.loraNotAFile` (a folder, a device or another special file).
    public func locate(_ lora: LoRAReference, of model: ModelReference) throws -> URL {
        let candidates = searchPaths.candidates(for: lora.file, base: base, preferred: ["loras"])
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw CatalogError.loraNotFound(file: lora.file, model: model.name, location: lora.location,
                                            field: lora.field, searched: candidates.map(\.path))
        }
        let type = (try? FileManager.default.attributesOfItem(atPath: url.resolvingSymlinksInPath().path))?[.type]
            as? FileAttributeType
        guard type == .typeRegular else {
            let kind = type == .typeDirectory ? "a folder" : "not a regular file"
            throw CatalogError.loraNotAFile(path: url.path, location: lora.location, field: lora.field, kind: kind)
        }
        return url.standardizedFileURL
    }

    /// Where a `catalog:` reference to `family` may be: each of its names under each search root, in order.
    func catalogCandidates(_ family: ModelFamily) -> [URL] {
        family.names.flatMap { name in
            name.hasPrefix("/") ? [URL(fileURLWithPath: name)]
                : searchPaths.roots.map { $0.appendingPathComponent(name) }
        }
    }

    struct LayoutMismatch: Error {
        var message: String
    }

    /// The first layout of `family` that `url` satisfies, or why none does.
    func match(_ url: URL, family: ModelFamily) -> Result<ModelFamily.Layout, LayoutMismatch> {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        var problems: [String] = []
        for layout in family.layouts {
            if isDirectory.boolValue, !layout.files.isEmpty {
                let missing = layout.files.filter {
                    !FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path)
                }
                if missing.isEmpty { return .success(layout) }
                problems.append("not a complete \(layout.name) folder: missing \(missing.joined(separator: ", "))")
            } else if !isDirectory.boolValue, let fileExtension = layout.fileExtension {
                guard url.pathExtension.lowercased() == fileExtension else {
                    problems.append("expected a .\(fileExtension) file")
                    continue
                }
                let missing = layout.companions.filter {
                    !FileManager.default.fileExists(atPath: url.path + $0)
                }
                if missing.isEmpty { return .success(layout) }
                problems.append("missing \(missing.map { url.lastPathComponent + $0 }.joined(separator: ", ")) "
                                + "next to it")
            }
        }
        let kind = isDirectory.boolValue ? "a folder" : "a file"
        return .failure(LayoutMismatch(message: problems.isEmpty
            ? "is \(kind), which no \(family.name) layout (\(family.layouts.map(\.name).joined(separator: ", "))) "
                + "accepts"
            : problems.joined(separator: "; ")))
    }
}
