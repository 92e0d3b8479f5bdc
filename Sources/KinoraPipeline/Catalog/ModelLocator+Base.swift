import Foundation

/// Finding the diffusers folder a video model's single transformer file takes its other parts from, as a user of
/// ComfyUI-style models folders keeps them: Self-Forcing's `diffusion_models/self_forcing_dmd.pt` beside Wan 2.1's
/// `Wan2.1-T2V-1.3B-Diffusers/`.
extension ModelLocator {
    /// The Wan diffusers folder whose VAE, text encoder, tokenizer, scheduler and configuration serve `located`, the
    /// model `model` names, when it is a video model's single transformer file: the reference's `base` (a catalog
    /// family's diffusers folder, found by the family's names, or a path, looked up as a model `path` is), else the
    /// family's catalog `base`, else the family's own diffusers folder. Nil for a folder or a model that makes no
    /// video. Throws `CatalogError.baseRefused` (a `base` given for a folder or a model that makes no video, or
    /// naming a file), `.baseNotFound` (listing every place looked in) or `.incomplete` (a catalog base's folder
    /// that lacks files of its layout).
    public func baseFolder(of located: Located, for model: ModelReference) throws -> URL? {
        let family = located.family
        let given = model.base.map { (name: $0, location: model.baseLocation ?? model.location) }
        let field = "models.\(model.name)" + (given == nil ? "" : ".base")
        let location = given?.location ?? model.location
        guard family.output == .video, located.layout.fileExtension != nil else {
            guard given != nil else { return nil }
            let reason = family.output != .video
                ? "'base' gives a video model's single transformer file its other parts; '\(model.name)' is a "
                    + "\(family.name) model, which makes \(family.output.noun)"
                : "'\(model.name)' is the diffusers folder \(located.url.path), which has its own VAE, text encoder "
                    + "and tokenizer; 'base' is for a single transformer file"
            throw CatalogError.baseRefused(location: location, field: field, reason: reason)
        }
        let baseFamily: ModelFamily
        let wanted: String
        if let given, catalog.family(named: given.name) == nil {
            let candidates = searchPaths.candidates(for: given.name, base: base, preferred: ["diffusion_models"])
            guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                throw CatalogError.baseNotFound(model: model.name, base: "'\(given.name)'", location: location,
                                                field: field, searched: candidates.map(\.path))
            }
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            guard isDirectory.boolValue else {
                throw CatalogError.baseRefused(
                    location: location, field: field,
                    reason: "\(url.path) is a file; a base is a Wan diffusers folder (its model_index.json, "
                        + "text_encoder/, vae/, tokenizer/, scheduler/ and transformer/config.json)")
            }
            return url.standardizedFileURL
        } else if let given, let named = catalog.family(named: given.name) {
            baseFamily = named
            wanted = "a diffusers folder of \(named.name)"
        } else if let name = family.base, let named = catalog.family(named: name) {
            baseFamily = named
            wanted = "a diffusers folder of \(name) (\(family.name)'s base in the catalog)"
        } else {
            baseFamily = family
            wanted = "a diffusers folder of \(family.name)"
        }
        guard baseFamily.output == .video, baseFamily.layouts.contains(where: { !$0.files.isEmpty }) else {
            throw CatalogError.baseRefused(
                location: location, field: field,
                reason: "\(baseFamily.name) has no diffusers folder of a video model to take the VAE, text encoder "
                    + "and tokenizer from; give 'base' a Wan diffusers folder")
        }
        let candidates = catalogCandidates(baseFamily)
        var firstProblem: (URL, String)?
        for url in candidates where isFolder(url) {
            switch match(url, family: baseFamily) {
            case .success: return url.standardizedFileURL
            case .failure(let problem): firstProblem = firstProblem ?? (url, problem.message)
            }
        }
        if let (url, problem) = firstProblem {
            throw CatalogError.incomplete(model: model.name, path: url.path, location: location,
                                          problem: "the base: " + problem)
        }
        throw CatalogError.baseNotFound(model: model.name, base: wanted, location: location, field: field,
                                        searched: candidates.map(\.path))
    }

    private func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
