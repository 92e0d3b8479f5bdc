import Foundation

/// Turns a parsed YAML document into a `Workflow`, field by field, recording every problem in the document.
struct WorkflowReader {
    let document: YAMLDocument

    static let keys = ["version", "output", "models", "shots", "voices", "music", "mix"]

    /// The workflow, or nil when any field was unusable (the document's issues say why).
    func read() -> Workflow? {
        guard let root = document.root, !root.isNull else { return nil }
        guard let mapping = root.mapping(Self.keys) else { return nil }
        if let version = mapping["version"], let number = version.integer(in: 0...Int.max),
           number != Workflow.formatVersion {
            version.fail("this Kinora reads format version \(Workflow.formatVersion), the file says \(number)")
        }
        let stem = URL(fileURLWithPath: document.file).deletingPathExtension().lastPathComponent
        let output = mapping.required("output").flatMap { OutputSettings(reading: $0, defaultFile: stem + ".mp4") }
        let models = readModels(mapping.required("models"))
        let shots = list(mapping.required("shots"), nonEmpty: true) { Shot(reading: $0, index: $1) }
        let voices = mapping["voices"].map { list($0, nonEmpty: false) { VoiceLine(reading: $0, index: $1) } } ?? []
        let music = mapping["music"].map { list($0, nonEmpty: false) { MusicCue(reading: $0, index: $1) } } ?? []
        let mix = mapping["mix"].map { MixSettings(reading: $0) } ?? MixSettings()
        guard let output, let models, let shots, let voices, let music, let mix else { return nil }
        return Workflow(file: document.file, output: output, models: models, shots: shots, voiceLines: voices,
                        musicCues: music, mix: mix)
    }

    /// The `models` mapping: name to reference, in file order.
    private func readModels(_ field: YAMLField?) -> [ModelReference]? {
        guard let field else { return nil }
        guard case .mapping(let mapping) = field.node else {
            field.fail("expected a mapping from model names to their path or catalog entry")
            return nil
        }
        var models: [ModelReference] = []
        var valid = true
        for (keyNode, valueNode) in mapping {
            let keyField = YAMLField(node: keyNode, path: field.path, document: document, fallback: field.location)
            guard let name = keyField.string() else {
                valid = false
                continue
            }
            let value = YAMLField(node: valueNode, path: "models.\(name)", document: document,
                                  fallback: keyField.location)
            if let model = ModelReference(reading: value, name: name) {
                models.append(model)
            } else {
                valid = false
            }
        }
        if models.isEmpty, valid {
            field.fail("name at least one model")
            return nil
        }
        return valid ? models : nil
    }

    /// Reads every element of a list with `element` (given the field and its index); nil when any fails.
    private func list<T>(_ field: YAMLField?, nonEmpty: Bool, _ element: (YAMLField, Int) -> T?) -> [T]? {
        guard let items = field?.sequence() else { return nil }
        if nonEmpty, items.isEmpty {
            field?.fail("must have at least one entry")
            return nil
        }
        let values = items.enumerated().map { element($1, $0) }
        let read = values.compactMap { $0 }
        return read.count == values.count ? read : nil
    }
}
