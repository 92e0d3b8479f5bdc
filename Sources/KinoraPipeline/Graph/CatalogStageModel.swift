import KinoraModels

/// A `StageModel` whose figures come from a catalog entry: the components of one role of a family (SDXL's two text
/// encoders count as one), with memory and compute scaled from the entry's per-token, per-pixel and
/// per-audio-second figures by each stage's parameters. Memory follows the activations' type: 16-bit activations
/// take the figures' `half` values where the catalog has them.
public struct CatalogStageModel: StageModel {
    public let identity: ModelIdentity
    public let family: ModelFamily
    public let role: ComponentRole
    public let components: [ModelFamily.Component]
    public let adapters: [String]
    public let uploadScratchBytes: UInt64
    /// The type the components' activations run in, as the runner will open them (`precision:`, or the weights'
    /// type for `auto`, with the pipeline's own exceptions such as SDXL's VAE upcast); nil when not known, which
    /// plans with the f32 figures, enough for any type.
    public let activationPrecision: ActivationPrecision?

    /// The `role` components of `family`, with the LoRA `adapters` merged into them as they load and the device
    /// scratch that merge holds, their activations in `activationPrecision`; nil when the family has no such
    /// component.
    public init?(family: ModelFamily, role: ComponentRole, identity: ModelIdentity, adapters: [String] = [],
                 uploadScratchBytes: UInt64 = 0, activationPrecision: ActivationPrecision? = nil) {
        let components = family.components(role)
        guard !components.isEmpty else { return nil }
        self.family = family
        self.role = role
        self.components = components
        self.identity = identity
        self.adapters = adapters
        self.uploadScratchBytes = uploadScratchBytes
        self.activationPrecision = activationPrecision
    }

    public var weightBytes: UInt64 { components.reduce(0) { $0 + $1.weightBytes.bytes } }

    /// Each component's streamed weight bytes, or all its weights when it cannot stream: nil unless some component
    /// can.
    public var streamedWeightBytes: UInt64? {
        guard components.contains(where: { $0.streamedWeightBytes != nil }) else { return nil }
        return components.reduce(0) { total, component in
            total + (component.streamedWeightBytes ?? component.weightBytes).bytes
        }
    }

    /// Whether the activations are known to be 16-bit (fp16 or bf16).
    private var halfActivations: Bool { activationPrecision.map { $0 != .fp32 } ?? false }

    private func activation(_ unit: String) -> Double {
        components.reduce(0) { $0 + ($1.activation[unit]?.value(halfActivations: halfActivations) ?? 0) }
    }

    private func flops(_ unit: String) -> Double {
        components.reduce(0) { $0 + ($1.flops[unit]?.value ?? 0) }
    }

    private static func guided(_ stage: Stage) -> Bool { (stage.parameters.number("cfg") ?? 0) > 1 }

    private func pixels(_ stage: Stage) -> (width: Int, height: Int) {
        (stage.parameters.int("width") ?? 0, stage.parameters.int("height") ?? 0)
    }

    /// CLIP windows of 77 tokens: one per 75 tokens of text, counting a token per three bytes (an over-estimate
    /// for English, whose tokens average about four).
    private static func tokens(_ text: String) -> Int {
        let windows = max(1, (text.utf8.count / 3 + 74) / 75)
        return 77 * windows
    }

    /// Whether the family makes video (Wan): its stages are one clip each, its figures per latent voxel.
    private var video: Bool { family.output == .video }

    /// A video stage's latent voxels: latent pixels of a frame times latent frames.
    private func latentVoxels(_ stage: Stage) -> Double {
        let (width, height) = pixels(stage)
        let frames = stage.parameters.int("frames") ?? 1
        let latentFrames = (frames - 1) / max(1, family.latentTemporalScale) + 1
        return Double(width / family.latentScale * (height / family.latentScale) * latentFrames)
    }

    /// Tokens a video family's text encoder reads per prompt: Wan pads every prompt to 512.
    static let videoPromptTokens = 512

    /// The side of the tile an upscale takes when the frame is larger (`RealESRGAN`'s largest tile candidate), the
    /// smaller tiles the plan may pick instead, and the most context either side of a tile (RRDBNet's; the compact
    /// network needs fewer).
    static let upscaleTile = 1024
    static let upscaleTiles = [512, 256, 128, 64]
    static let upscaleContext = 24
    /// The smallest window and padded frame the catalog's per-pixel figures were measured at (a 256² tile; RIFE's
    /// 416x240 padded to 512x256): fixed costs (kernel workspaces, the coarse levels) make smaller ones need more per
    /// pixel, so they are counted as this many pixels.
    static let upscaleMeasuredPixels = 256.0 * 256
    static let interpolateMeasuredPixels = 512.0 * 256

    /// Input pixels of the largest window (tile and context) an upscale of `stage` runs at once with `tactic`.
    private static func upscaleWindow(_ stage: Stage, tactic: Tactic) -> Double {
        let tile = tactic.tileLatentSize ?? upscaleTile
        let (width, height) = (stage.parameters.int("width") ?? 0, stage.parameters.int("height") ?? 0)
        let side = { (length: Int) in Double(length <= tile ? length : min(length, tile + 2 * upscaleContext)) }
        return side(width) * side(height)
    }

    /// Pixels of one frame as RIFE runs it: padded to multiples of `RIFE.padding`.
    private static func paddedPixels(_ stage: Stage) -> Double {
        let pad = { (length: Int) in Double((length + RIFE.padding - 1) / RIFE.padding * RIFE.padding) }
        return pad(stage.parameters.int("width") ?? 0) * pad(stage.parameters.int("height") ?? 0)
    }

    public func tactics(for stage: Stage) -> [Tactic] {
        switch stage.kind {
        case .upscale:
            // The whole frame (up to a 1024-pixel tile), else smaller tiles; the runner picks the largest tile
            // whose own memory plan fits the step's predicted bytes.
            let side = max(stage.parameters.int("width") ?? 0, stage.parameters.int("height") ?? 0)
            return [Tactic()] + Self.upscaleTiles.filter { $0 < min(side, Self.upscaleTile) }
                .map { Tactic(tileLatentSize: $0) }
        case .denoise where video:
            // The Wan pipeline runs guidance's two passes one after the other.
            return [Tactic(guidance: Self.guided(stage) ? .sequential : .none)]
        case .decode where video, .encodeImage:
            // Frames decode one latent frame a call; the pipeline tiles a frame itself when it must.
            return [Tactic()]
        case .denoise where Self.guided(stage):
            return [Tactic(guidance: .batched), Tactic(guidance: .sequential)]
        case .generateMusic where Self.guided(stage):
            // The music pipelines run both halves of guidance in one pass.
            return [Tactic(guidance: .batched)]
        case .decode:
            let (width, height) = pixels(stage)
            let latentEdge = max(width, height) / family.latentScale
            let tiles = components.flatMap(\.tileLatentSizes).filter { $0 < latentEdge }
            return [Tactic()] + Set(tiles).sorted(by: >).map { Tactic(tileLatentSize: $0) }
        default:
            return [Tactic()]
        }
    }

    /// Denoise stages batch (one sampling loop over up to eight pictures or clips; the planner takes as many as fit
    /// the budget); the others run one at a time, as the runners run them.
    public func maximumBatch(for stage: Stage) -> Int {
        stage.kind == .denoise ? Self.maximumDenoiseBatch : 1
    }

    /// The most pictures or clips one sampling loop takes.
    static let maximumDenoiseBatch = 8

    public func activationBytes(for stages: [Stage], tactic: Tactic) -> UInt64 {
        guard let stage = stages.first else { return 0 }
        let count = Double(stages.count)
        let (width, height) = pixels(stage)
        let bytes: Double
        switch stage.kind {
        case .encodeText where video:
            let prompts = Self.guided(stage) ? 2.0 : 1.0
            bytes = activation("per_token") * Double(Self.videoPromptTokens) * prompts
        case .denoise where video:
            // Each clip of a batch its own activations; the weights are counted once, apart.
            bytes = activation("per_latent_voxel") * latentVoxels(stage) * count
        case .decode where video, .encodeImage:
            // One frame of the streamed decode (or the keyframe's encode), and the frames a call hands on.
            let frame = Double(width * height)
            bytes = activation("per_pixel") * frame + frame * 3 * 4 * Double(family.latentTemporalScale)
        case .encodeText:
            bytes = stages.reduce(0) { total, stage in
                let prompt = Self.tokens(stage.parameters.string("prompt") ?? "")
                let negative = Self.guided(stage) ? Self.tokens(stage.parameters.string("negative") ?? "") : 0
                return total + activation("per_token") * Double(prompt + negative)
            }
        case .denoise:
            let latentPixels = Double(width / family.latentScale * (height / family.latentScale))
            let halves = tactic.guidance == .batched ? 2.0 : 1.0
            bytes = activation("per_latent_pixel") * latentPixels * count * halves
        case .decode:
            let image = Double(width * height) * 3 * 4 * count
            if let tile = tactic.tileLatentSize {
                let tilePixels = Double(tile * family.latentScale * tile * family.latentScale)
                bytes = activation("per_pixel") * tilePixels + image
            } else {
                bytes = activation("per_pixel") * Double(width * height) * count
            }
        case .speak:
            bytes = activation("per_audio_second") * stages.reduce(0) { $0 + Self.audioSeconds($1) }
        case .generateMusic:
            bytes = activation("per_audio_second") * Self.generatedSeconds(stage)
        case .upscale:
            // One tile window at a time (the catalog's figure is per input pixel of the window, with its output).
            bytes = activation("per_pixel") * max(Self.upscaleWindow(stage, tactic: tactic), Self.upscaleMeasuredPixels)
        case .interpolate:
            // Two frames and every frame between them in one call (the figure is per padded pixel).
            bytes = activation("per_pixel") * max(Self.paddedPixels(stage), Self.interpolateMeasuredPixels)
        default:
            bytes = 0
        }
        return UInt64(bytes.rounded(.up))
    }

    /// Spoken seconds of a `speak` stage, estimated from its text (15 characters a second).
    static func audioSeconds(_ stage: Stage) -> Double {
        let characters = Double(stage.parameters.int("characters") ?? 0)
        return max(1, characters / 15 / (stage.parameters.number("speed") ?? 1))
    }

    /// Seconds of audio a `generateMusic` stage computes (`window_seconds`: Stable Audio's whole window whatever the
    /// cue's length), else the cue's `seconds`.
    static func generatedSeconds(_ stage: Stage) -> Double {
        stage.parameters.number("window_seconds") ?? stage.parameters.number("seconds") ?? 0
    }

    public func estimatedSeconds(for stages: [Stage], tactic: Tactic, device: DeviceProfile) -> Double {
        guard let stage = stages.first else { return 0 }
        let count = Double(stages.count)
        let (width, height) = pixels(stage)
        var work: Double
        var passes = 1.0
        switch stage.kind {
        case .encodeText where video:
            work = flops("per_token") * Double(Self.videoPromptTokens) * (Self.guided(stage) ? 2 : 1)
        case .denoise where video:
            passes = Double(stage.parameters.int("steps") ?? 1)
            work = flops("per_latent_voxel_step") * latentVoxels(stage) * passes * (Self.guided(stage) ? 2 : 1)
                * count
        case .decode where video:
            work = flops("per_pixel") * Double(width * height) * Double(stage.parameters.int("frames") ?? 1)
        case .encodeImage:
            work = flops("per_pixel") * Double(width * height)
        case .encodeText:
            work = flops("per_token") * Double(stages.reduce(0) { total, stage in
                total + Self.tokens(stage.parameters.string("prompt") ?? "")
                    + (Self.guided(stage) ? Self.tokens(stage.parameters.string("negative") ?? "") : 0)
            })
        case .denoise:
            let latentPixels = Double(width / family.latentScale * (height / family.latentScale))
            passes = Double(stage.parameters.int("steps") ?? 1)
            let halves = Self.guided(stage) ? 2.0 : 1.0
            // Two half-size passes keep the device less busy than one full pass.
            let efficiency = tactic.guidance == .sequential ? 0.9 : 1.0
            work = flops("per_latent_pixel_step") * latentPixels * passes * halves * count / efficiency
        case .decode:
            // Overlapping tiles decode about a quarter more pixels.
            work = flops("per_pixel") * Double(width * height) * count * (tactic.tileLatentSize == nil ? 1 : 1.25)
        case .speak:
            work = flops("per_audio_second") * stages.reduce(0) { $0 + Self.audioSeconds($1) }
        case .upscale:
            work = flops("per_pixel") * Double(width * height) * Double(stage.parameters.int("frames") ?? 1)
        case .interpolate:
            work = flops("per_pixel") * Self.paddedPixels(stage) * Double(stage.steps)
        case .generateMusic:
            passes = Double(stage.parameters.int("steps") ?? 1)
            work = flops("per_audio_second_step") * Self.generatedSeconds(stage) * passes
                * (Self.guided(stage) ? 2 : 1)
        default:
            work = 0
        }
        var seconds = work / device.flopsPerSecond
        if tactic.streamedWeights {
            // Every UNet pass (of the whole batch) uploads the weights again: two per step when the guidance halves
            // run one after the other.
            let passesPerStep = tactic.guidance == .sequential ? 2.0 : 1.0
            seconds += passes * passesPerStep * Double(weightBytes) / device.uploadBytesPerSecond
        }
        return seconds
    }
}
