import KinoraModels

/// A LoRA adapter a workflow model merges into its weights at load: `{file: PATH, strength: X}` or the short
/// `PATH[:strength]`, as `kinora image --lora` takes it. The file is looked up as model paths are (see
/// `ModelLocator.locate(_:of:index:)`); several adapters of one model add up, in the order written.
public struct LoRAReference: Sendable, Hashable {
    /// The file as written.
    public var file: String
    /// How strongly the update is added: 1 as trained, 0 not at all, negative to invert it.
    public var strength: Double
    /// Where the file is written.
    public var location: SourceLocation
    /// The path of the field that names the file (`models.hero.loras[0].file`), for messages.
    public var field: String

    /// The strengths accepted, the same as `kinora image --lora`'s.
    public static let strengths = LoRAAdapter.strengths

    public init(file: String, strength: Double = 1, location: SourceLocation, field: String) {
        self.file = file
        self.strength = strength
        self.location = location
        self.field = field
    }

    /// `file:strength` with the strength in its shortest form, for plans and cache identities.
    public var description: String { "\(file):\(YAMLField.format(strength))" }

    static let keys = ["file", "strength"]

    /// Reads one entry of a model's `loras` list: a mapping with `file` and an optional `strength`, or a string
    /// whose text after its last colon is the strength when it is a number (so paths with colons still work).
    init?(reading field: YAMLField) {
        if case .scalar = field.node {
            guard let text = field.string() else { return nil }
            let (file, written) = LoRAAdapter.splitShortForm(text)
            let strength = written ?? 1
            guard !file.isEmpty || written == nil else {
                field.fail("'\(text)' names no file before the strength; write PATH:STRENGTH")
                return nil
            }
            guard Self.check(strength, text: text, field) else { return nil }
            self.init(file: file, strength: strength, location: field.location, field: field.path)
            return
        }
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let file = mapping.required("file")?.string()
        var strength = 1.0
        var valid = true
        if let strengthField = mapping["strength"] {
            if let text = strengthField.text() {
                if let number = Double(text.trimmingCharacters(in: .whitespaces)) {
                    strength = number
                    valid = Self.check(number, text: text, strengthField)
                } else {
                    strengthField.fail("expected a number such as 0.8, got '\(text)'")
                    valid = false
                }
            } else {
                valid = false
            }
        }
        guard let file, valid, let fileField = mapping["file"] else { return nil }
        self.init(file: file, strength: strength, location: fileField.location, field: fileField.path)
    }

    /// Whether `strength` is finite and within `strengths`; reports it on `field` otherwise.
    private static func check(_ strength: Double, text: String, _ field: YAMLField) -> Bool {
        guard strength.isFinite else {
            field.fail("the strength must be a finite number, got '\(text)'")
            return false
        }
        guard strengths.contains(strength) else {
            field.fail("the strength must be between \(YAMLField.format(strengths.lowerBound)) and "
                + "\(YAMLField.format(strengths.upperBound)) (1 as trained), got \(YAMLField.format(strength))")
            return false
        }
        return true
    }
}
