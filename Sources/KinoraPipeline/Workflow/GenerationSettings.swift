/// How one rendering of a shot is generated: the model and, where given, steps, sampler, size and guidance (and, for
/// a video shot, the clip's frames and the flow shift). A shot has a `final` (hero) setting and a `draft` (workhorse)
/// one, and a video shot may have a `keyframe` one; fields left out take the family's defaults.
public struct GenerationSettings: Sendable, Hashable {
    /// The name of an entry in the workflow's `models`.
    public var model: String
    public var steps: Int?
    /// A sampler name (`euler`, `euler_a`, `heun`, `ddim`, `dpmpp_2m`, `dpmpp_2m_karras`, `lcm`).
    public var sampler: String?
    public var size: ImageSize?
    /// Classifier-free guidance scale; 1 or less turns guidance off.
    public var cfg: Double?
    /// Video shots: frames of the clip (4k + 1 for Wan); nil: the shot's duration at the model's frame rate.
    public var frames: Int?
    /// Video shots: the flow-matching scheduler's timestep shift; nil: the family's.
    public var shift: Double?
    /// Stream shots: latent frames a chunk (Self-Forcing's 3); nil: 3.
    public var chunkFrames: Int?
    /// Stream shots: the few-step schedule, `self-forcing` (4 steps) or `causvid` (3); nil: `self-forcing`.
    public var schedule: String?
    /// Stream shots: latent frames a chunk attends to (a rolling window); nil: automatic (none while the stream fits
    /// the 21 frames the models were trained on, else those 21).
    public var window: Int?
    /// Stream shots: the video's first latent frames the window always keeps; nil: one chunk.
    public var sink: Int?
    /// Stream shots: the KV cache's element type, `f16`, `bf16` or `f32`; nil: `f16`.
    public var kvCache: String?
    public var location: SourceLocation
    /// Where `model` is written, for messages about the reference.
    public var modelLocation: SourceLocation

    public init(model: String, steps: Int? = nil, sampler: String? = nil, size: ImageSize? = nil, cfg: Double? = nil,
                frames: Int? = nil, shift: Double? = nil, chunkFrames: Int? = nil, schedule: String? = nil,
                window: Int? = nil, sink: Int? = nil, kvCache: String? = nil, location: SourceLocation,
                modelLocation: SourceLocation? = nil) {
        self.model = model
        self.steps = steps
        self.sampler = sampler
        self.size = size
        self.cfg = cfg
        self.frames = frames
        self.shift = shift
        self.chunkFrames = chunkFrames
        self.schedule = schedule
        self.window = window
        self.sink = sink
        self.kvCache = kvCache
        self.location = location
        self.modelLocation = modelLocation ?? location
    }

    /// The sampler names the image pipelines understand (KinoraModels' `SamplerKind` raw values).
    public static let samplers = ["euler", "euler_a", "heun", "ddim", "dpmpp_2m", "dpmpp_2m_karras", "lcm"]

    /// The sampler names the video pipelines understand (KinoraModels' `FlowSamplerKind` raw values).
    public static let videoSamplers = ["unipc", "euler"]

    /// The few-step schedules of the autoregressive Wan models (`kinora video --autoregressive --schedule`).
    public static let streamSchedules = ["self-forcing", "causvid"]

    /// What the settings generate, which decides the keys and samplers they take.
    enum Purpose {
        /// A still's picture (`final`, `draft` of a still shot).
        case still
        /// A video shot's clip (`final`, `draft` of a video shot): also `frames` and `shift`, flow samplers.
        case video
        /// The picture a video shot's clip starts from: no `size` (the clip's) and nothing of a clip.
        case keyframe
        /// A stream shot's video (`final`, `draft`): its size, latent frames a chunk and few-step schedule; the
        /// distilled models take no steps, sampler, guidance or shift of their own.
        case stream

        var keys: [String] {
            switch self {
            case .still: return ["model", "steps", "sampler", "size", "cfg"]
            case .video: return ["model", "steps", "sampler", "size", "cfg", "frames", "shift"]
            case .keyframe: return ["model", "steps", "sampler", "cfg"]
            case .stream: return ["model", "size", "chunk_frames", "schedule", "window", "sink", "kv_cache"]
            }
        }
    }

    /// Reads a `final` mapping (`defaultModel` nil: `model` is required) or a `draft` one (`model` defaults to the
    /// final's; when that is unknown because the final is broken, the draft yields nil without a second message).
    init?(reading field: YAMLField, defaultModel: String?, requiresModel: Bool, purpose: Purpose = .still) {
        if purpose == .still, case .mapping(let pairs) = field.node,
           let key = pairs.map({ $0.key.string ?? "" }).first(where: { ["frames", "shift"].contains($0) }) {
            field.fail("'\(key)' applies to video shots (motion: video); this shot is a still")
            return nil
        }
        guard let mapping = field.mapping(purpose.keys) else { return nil }
        let modelField = requiresModel ? mapping.required("model") : mapping["model"]
        let model = modelField.map { $0.string() } ?? defaultModel
        let steps = mapping["steps"].map { $0.integer(in: 1...1000) }
        let sampler = mapping["sampler"].map {
            purpose == .video ? $0.choice(Self.videoSamplers, aliases: ["flow_euler": "euler"])
                : $0.choice(Self.samplers, aliases: ["euler_ancestral": "euler_a"])
        }
        let size = mapping["size"].map { $0.size() }
        let cfg = mapping["cfg"].map { $0.number(in: 0...30) }
        let frames = mapping["frames"].map { $0.integer(in: 1...2001) }
        let shift = mapping["shift"].map { $0.number(in: 0.01...100) }
        let chunkFrames = mapping["chunk_frames"].map { $0.integer(in: 1...16) }
        let schedule = mapping["schedule"].map { $0.choice(Self.streamSchedules) }
        let window = mapping["window"].map { $0.integer(in: 2...256) }
        let sink = mapping["sink"].map { $0.integer(in: 0...255) }
        let kvCache = mapping["kv_cache"].map { $0.choice(["f16", "bf16", "f32"]) }
        guard let model = model ?? nil, steps != .some(nil), sampler != .some(nil), size != .some(nil),
              cfg != .some(nil), frames != .some(nil), shift != .some(nil), chunkFrames != .some(nil),
              schedule != .some(nil), window != .some(nil), sink != .some(nil), kvCache != .some(nil)
        else { return nil }
        self.init(model: model, steps: steps ?? nil, sampler: sampler ?? nil, size: size ?? nil, cfg: cfg ?? nil,
                  frames: frames ?? nil, shift: shift ?? nil, chunkFrames: chunkFrames ?? nil,
                  schedule: schedule ?? nil, window: window ?? nil, sink: sink ?? nil, kvCache: kvCache ?? nil,
                  location: field.location,
                  modelLocation: modelField?.location ?? field.location)
    }
}
