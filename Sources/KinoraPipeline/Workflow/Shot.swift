import KinoraModels

/// One shot of the cut: a prompt and seed rendered by its `final` (hero) settings, or by its `draft` (workhorse)
/// settings for fast previews, shown for `duration` seconds. Shots follow each other in file order.
public struct Shot: Sendable, Hashable {
    /// What the shot shows.
    public enum Motion: String, Sendable, Hashable, CaseIterable {
        /// One generated picture, animated by `camera`.
        case still
        /// Generated frames (needs a video family).
        case video
    }

    public var id: String
    public var prompt: String
    public var negative: String
    /// How `prompt` and `negative` are read: `plain` as diffusers reads them (the default), or `a1111`.
    public var promptSyntax: PromptSyntax
    /// The seed of both draft and final, so a draft previews its final.
    public var seed: UInt64
    public var duration: Double
    /// The shot's picture size when `final.size` is not given (default: the output size).
    public var size: ImageSize?
    public var motion: Motion
    public var camera: CameraMove
    public var draft: GenerationSettings?
    public var final: GenerationSettings
    public var location: SourceLocation

    public init(id: String, prompt: String, negative: String = "", promptSyntax: PromptSyntax = .default,
                seed: UInt64, duration: Double, size: ImageSize? = nil, motion: Motion = .still,
                camera: CameraMove = CameraMove(), draft: GenerationSettings? = nil, final: GenerationSettings,
                location: SourceLocation) {
        self.id = id
        self.prompt = prompt
        self.negative = negative
        self.promptSyntax = promptSyntax
        self.seed = seed
        self.duration = duration
        self.size = size
        self.motion = motion
        self.camera = camera
        self.draft = draft
        self.final = final
        self.location = location
    }

    /// The seed used when a shot gives none: FNV-1a of its id folded to 32 bits, so it survives reordering.
    public static func defaultSeed(for id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return (hash ^ (hash >> 32)) & 0xffff_ffff
    }

    static let keys = ["id", "prompt", "negative", "prompt_syntax", "seed", "duration", "size", "motion", "camera",
                       "draft", "final"]

    /// Reads one entry of `shots`; `index` (from 0) names it `shot-N` when it has no `id`.
    init?(reading field: YAMLField, index: Int) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let id = mapping["id"].map { $0.string() } ?? "shot-\(index + 1)"
        let prompt = mapping.required("prompt")?.string()
        let negative = mapping["negative"].map { $0.text() } ?? ""
        let syntax = mapping["prompt_syntax"].map { $0.choice(PromptSyntax.allCases.map(\.rawValue)) }
            ?? PromptSyntax.default.rawValue
        let seed = mapping["seed"].map { $0.unsigned() } ?? id.map(Self.defaultSeed)
        let duration = mapping.required("duration")?.seconds(in: 0.04...600)
        let size = mapping["size"].map { $0.size() }
        let motion = mapping["motion"].map { $0.choice(Motion.allCases.map(\.rawValue)) } ?? Motion.still.rawValue
        let camera = mapping["camera"].map { CameraMove(reading: $0) } ?? CameraMove()
        let final = mapping.required("final").flatMap {
            GenerationSettings(reading: $0, defaultModel: nil, requiresModel: true)
        }
        let draft = mapping["draft"].map {
            GenerationSettings(reading: $0, defaultModel: final?.model, requiresModel: false)
        }
        if let cameraField = mapping["camera"], motion == Shot.Motion.video.rawValue {
            cameraField.fail("camera moves apply to stills; a video shot's motion comes from its model")
        }
        guard let id, let prompt, let negative, let syntax = syntax.flatMap(PromptSyntax.init(rawValue:)), let seed,
              let duration, size != .some(nil), let motion = motion.flatMap(Motion.init(rawValue:)), let camera,
              let final, draft != .some(nil) else { return nil }
        self.init(id: id, prompt: prompt, negative: negative, promptSyntax: syntax, seed: seed, duration: duration,
                  size: size ?? nil, motion: motion, camera: camera, draft: draft ?? nil, final: final,
                  location: field.location)
    }
}
