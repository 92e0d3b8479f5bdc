/// What a stage does. `encodeText`, `denoise`, `decode`, `encodeImage`, `upscale`, `interpolate`, `speak` and
/// `generateMusic` run a model on the device; the others run on the host.
public enum StageKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Prompt and negative prompt to conditioning (text encoder).
    case encodeText
    /// Noise to latents over the sampler's steps (denoiser).
    case denoise
    /// Latents to a picture (VAE decoder).
    case decode
    /// Text to phonemes (espeak-ng, on the host).
    case phonemize
    /// Phonemes to speech (voice model).
    case speak
    /// A keyframe picture to the latent a video model's clip starts from (the video model's VAE encoder).
    case encodeImage
    /// A clip's frames, or a still's picture, to larger ones (upscaler: Real-ESRGAN), frame by frame.
    case upscale
    /// A clip to a higher frame rate (interpolator: RIFE), frame by frame.
    case interpolate
    /// A still to the shot's frames with its pan and zoom (host).
    case animate
    /// A video model's clip to the shot's frames at the output's frame rate and size (host).
    case conform
    /// All shots' frames to the video stream (host).
    case encodeVideo
    /// A music file decoded and resampled (host).
    case loadAudio
    /// A prompt to a music cue at the output's sample rate (a music model: Stable Audio).
    case generateMusic
    /// Voice lines and music placed, ducked and normalised into one stem (host).
    case mix
    /// Video and audio into the output file (host).
    case mux

    /// The model component the stage runs, or nil for host stages.
    public var role: ComponentRole? {
        switch self {
        case .encodeText: return .textEncoder
        case .denoise: return .denoiser
        case .decode, .encodeImage: return .decoder
        case .speak: return .voice
        case .generateMusic: return .music
        case .upscale: return .upscaler
        case .interpolate: return .interpolator
        case .phonemize, .animate, .conform, .encodeVideo, .loadAudio, .mix, .mux: return nil
        }
    }
}
