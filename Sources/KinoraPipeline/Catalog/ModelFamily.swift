import Foundation

/// One entry of the model catalog (`models/<family>.yaml`): what a family of models produces, the files and key
/// layouts its weights come in, its default settings and the memory and compute figures the planner works from.
public struct ModelFamily: Sendable, Hashable {
    /// What the family's models make.
    public enum Output: String, Sendable, Hashable, CaseIterable {
        case image, video, speech, music
        /// A larger copy of a picture or of each frame of a video (upscalers).
        case upscaledImage = "upscaled_image"
        /// The frames between two frames of a video (frame interpolators).
        case interpolatedFrames = "interpolated_frames"

        /// What the family makes, as a plural noun for messages: `images`, `videos`, `speech`, `upscaled images`,
        /// `interpolated frames`.
        public var noun: String {
            switch self {
            case .speech, .music: return rawValue
            case .upscaledImage: return "upscaled images"
            case .interpolatedFrames: return "interpolated frames"
            case .image, .video: return rawValue + "s"
            }
        }

        /// The component role a family of this output must have, when the output has one of its own: an upscaler
        /// family's `upscaler`, an interpolator family's `interpolator`.
        var ownRole: ComponentRole? {
            switch self {
            case .upscaledImage: return .upscaler
            case .interpolatedFrames: return .interpolator
            case .image, .video, .speech, .music: return nil
            }
        }
    }

    /// Default generation settings (image and video families) or audio settings (voices).
    public struct Defaults: Sendable, Hashable {
        public var steps: Int?
        public var draftSteps: Int?
        public var sampler: String?
        public var size: ImageSize?
        public var cfg: Double?
        public var sampleRate: Int?
        /// Video families: frames of a clip (of the form `latent.temporal_scale`·k + 1).
        public var frames: Int?
        /// Video families: frames per second the model was trained at.
        public var fps: Double?
        /// Flow-matching families: the timestep shift of the scheduler (diffusers' `flow_shift` / `shift`).
        public var shift: Double?

        static let keys = ["steps", "draft_steps", "sampler", "size", "cfg", "sample_rate", "frames", "fps", "shift"]
    }

    /// How weights are laid out on disk.
    public struct Layout: Sendable, Hashable {
        public var name: String
        /// Files a model folder must hold (diffusers layout); empty for a single-file layout.
        public var files: [String]
        /// The file extension of a single-file layout (`safetensors`, `onnx`); nil for a folder layout.
        public var fileExtension: String?
        /// Suffixes of files that must sit next to a single file (`.json`: `voice.onnx.json`).
        public var companions: [String]
        /// The ComfyUI models subfolder such files live in (`checkpoints`, `voices`).
        public var folder: String?
        /// Tensor-name prefix of each component inside a single-file checkpoint.
        public var keyPrefixes: [String: String]
        /// Tensors whose presence identifies the family in a single-file checkpoint.
        public var detectKeys: [String]

        static let keys = ["files", "extension", "companions", "folder", "key_prefixes", "detect_keys"]
    }

    /// One component (text encoder, UNet, VAE, voice, upscaler, interpolator) and its figures.
    public struct Component: Sendable, Hashable {
        public var name: String
        public var role: ComponentRole
        /// The ComfyUI models subfolder a separate file of this component lives in.
        public var folder: String?
        public var weightBytes: CatalogFigure
        /// The weights on the device while they are streamed block by block: the largest piece (one resnet or
        /// transformer layer) and the parts that stay (embeddings, input and output layers). Nil: cannot stream.
        public var streamedWeightBytes: CatalogFigure?
        /// Activation bytes per unit of work: `per_token`, `per_latent_pixel` (per batch item), `per_pixel`,
        /// `per_audio_second` (of speech, or of the audio a music model computes with guidance). Each is measured
        /// with f32 activations, and where given its `half` with 16-bit ones.
        public var activation: [String: CatalogFigure]
        /// Floating-point operations per unit of work: `per_token`, `per_latent_pixel_step`, `per_pixel`,
        /// `per_audio_second`, `per_audio_second_step` (a music model's sampler step over a second of audio, one
        /// pass: guidance doubles it).
        public var flops: [String: CatalogFigure]
        /// Latent tile edges the decoder can tile with, largest first.
        public var tileLatentSizes: [Int]
        /// The names this component's own file has in its ComfyUI `folder` (a video family's diffusion model, VAE
        /// and text encoder ship as separate files).
        public var files: [String] = []
    }

    /// A whole-model peak measured on a device, to check the figures against.
    public struct MeasuredPeak: Sendable, Hashable {
        public var size: ImageSize
        /// Video families: the clip's frames.
        public var frames: Int?
        public var peak: CatalogFigure
        /// How the peak was accounted (what was resident, which tactics).
        public var accounting: String
    }

    public var name: String
    public var description: String
    public var output: Output
    /// A tiny random-weight family for tests: its pictures mean nothing.
    public var testOnly: Bool
    /// A video family whose weights are a causal, autoregressive model (Self-Forcing, CausVid): it makes streams, and
    /// a video shot drafted by it is drafted as a stream (`autoregressive: true` in the entry).
    public var autoregressive: Bool = false
    /// A video family whose weights may come as a single transformer file (Self-Forcing's `.pt`, ComfyUI's
    /// `.safetensors`), which carries no VAE, text encoder, tokenizer or configuration: the family whose diffusers
    /// folder supplies them (`base: wan21-t2v-1.3b` for wan21-causal-1.3b). Nil: the family's own diffusers folder.
    public var base: String?
    /// Pixels per latent pixel along each side, and latent channels (image and video families).
    public var latentScale: Int
    public var latentChannels: Int
    /// Video families: frames per latent frame after the first (a clip of F frames has (F − 1) / this + 1 latent
    /// frames); 1 for image families.
    public var latentTemporalScale: Int = 1
    /// Paths relative to a models folder where a `catalog:` reference to this family looks for its weights.
    public var names: [String]
    public var defaults: Defaults
    public var layouts: [Layout]
    /// In file order.
    public var components: [Component]
    public var measured: [MeasuredPeak]
    public var location: SourceLocation

    /// The components with `role`, in file order.
    public func components(_ role: ComponentRole) -> [Component] {
        components.filter { $0.role == role }
    }

    /// The sum of every component's weight bytes.
    public var weightBytes: UInt64 { components.reduce(0) { $0 + $1.weightBytes.bytes } }

    static let keys = ["family", "description", "produces", "test_only", "autoregressive", "base", "latent", "names",
                       "defaults", "layouts", "components", "measured"]
}
