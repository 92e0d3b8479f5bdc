/// How one rendering of a shot is generated: the model and, where given, steps, sampler, size and guidance. A shot
/// has a `final` (hero) setting and a `draft` (workhorse) one; fields left out take the family's defaults.
public struct GenerationSettings: Sendable, Hashable {
    /// The name of an entry in the workflow's `models`.
    public var model: String
    public var steps: Int?
    /// A sampler name (`euler`, `euler_a`, `heun`, `ddim`, `dpmpp_2m`, `dpmpp_2m_karras`, `lcm`).
    public var sampler: String?
    public var size: ImageSize?
    /// Classifier-free guidance scale; 1 or less turns guidance off.
    public var cfg: Double?
    public var location: SourceLocation
    /// Where `model` is written, for messages about the reference.
    public var modelLocation: SourceLocation

    public init(model: String, steps: Int? = nil, sampler: String? = nil, size: ImageSize? = nil, cfg: Double? = nil,
                location: SourceLocation, modelLocation: SourceLocation? = nil) {
        self.model = model
        self.steps = steps
        self.sampler = sampler
        self.size = size
        self.cfg = cfg
        self.location = location
        self.modelLocation = modelLocation ?? location
    }

    /// The sampler names the image pipelines understand (KinoraModels' `SamplerKind` raw values).
    public static let samplers = ["euler", "euler_a", "heun", "ddim", "dpmpp_2m", "dpmpp_2m_karras", "lcm"]

    static let keys = ["model", "steps", "sampler", "size", "cfg"]

    /// Reads a `final` mapping (`defaultModel` nil: `model` is required) or a `draft` one (`model` defaults to the
    /// final's; when that is unknown because the final is broken, the draft yields nil without a second message).
    init?(reading field: YAMLField, defaultModel: String?, requiresModel: Bool) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let modelField = requiresModel ? mapping.required("model") : mapping["model"]
        let model = modelField.map { $0.string() } ?? defaultModel
        let steps = mapping["steps"].map { $0.integer(in: 1...1000) }
        let sampler = mapping["sampler"].map { $0.choice(Self.samplers, aliases: ["euler_ancestral": "euler_a"]) }
        let size = mapping["size"].map { $0.size() }
        let cfg = mapping["cfg"].map { $0.number(in: 0...30) }
        guard let model = model ?? nil, steps != .some(nil), sampler != .some(nil), size != .some(nil),
              cfg != .some(nil) else { return nil }
        self.init(model: model, steps: steps ?? nil, sampler: sampler ?? nil, size: size ?? nil, cfg: cfg ?? nil,
                  location: field.location, modelLocation: modelField?.location ?? field.location)
    }
}
