/// A shot's or the output's `upscale`: an upscaler from the workflow's models (a family that makes upscaled images,
/// such as `realesr-animevideov3`) and the factor. A video shot's clip is upscaled frame by frame before it is
/// interpolated and conformed; a still's picture is upscaled once, before its camera move; the output's applies to the
/// whole cut after its shots are joined.
public struct UpscaleSettings: Sendable, Hashable {
    /// The name of an entry in the workflow's `models`.
    public var model: String
    /// 2, 3 or 4, as `kinora upscale --scale` takes it.
    public var scale: Int
    public var location: SourceLocation
    public var modelLocation: SourceLocation

    public init(model: String, scale: Int, location: SourceLocation, modelLocation: SourceLocation? = nil) {
        self.model = model
        self.scale = scale
        self.location = location
        self.modelLocation = modelLocation ?? location
    }

    static let keys = ["model", "scale"]
    /// The factors the upscalers make (the network's 4, or 2 and 3 through a bicubic resize after it).
    static let scales = 2...4

    init?(reading field: YAMLField) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let modelField = mapping.required("model")
        let model = modelField.map { $0.string() }
        let scale = mapping.required("scale")?.integer(in: Self.scales)
        guard let model = model ?? nil, let scale else { return nil }
        self.init(model: model, scale: scale, location: field.location, modelLocation: modelField?.location)
    }
}

/// A video shot's or the output's `interpolate`: a shot's clip raised from the video model's frame rate to `fps` by a
/// frame interpolator (RIFE), frame by frame, before it is conformed to the output's rate, or the whole joined cut
/// raised from the output's `fps` to this one; scene cuts (and the output's cuts between shots) are not morphed.
public struct InterpolationSettings: Sendable, Hashable {
    /// The clip's frame rate after interpolation.
    public var fps: FrameRateSpec
    /// The name of an entry in the workflow's `models`; nil: the workflow's one model of the `rife` family.
    public var model: String?
    public var location: SourceLocation
    /// Where `model` is written (the mapping's location when it is left out).
    public var modelLocation: SourceLocation

    public init(fps: FrameRateSpec, model: String? = nil, location: SourceLocation,
                modelLocation: SourceLocation? = nil) {
        self.fps = fps
        self.model = model
        self.location = location
        self.modelLocation = modelLocation ?? location
    }

    static let keys = ["fps", "model"]
    /// The family an `interpolate` without `model` takes its model from.
    public static let defaultFamily = "rife"

    init?(reading field: YAMLField) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let fps = mapping.required("fps").map { FrameRateSpec(reading: $0) }
        let modelField = mapping["model"]
        let model = modelField.map { $0.string() }
        guard let fps = fps ?? nil, model != .some(nil) else { return nil }
        self.init(fps: fps, model: model ?? nil, location: field.location, modelLocation: modelField?.location)
    }
}
