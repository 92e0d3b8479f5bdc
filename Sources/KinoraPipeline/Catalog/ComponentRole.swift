/// What a model component does in a chain; stages bind to components by role.
public enum ComponentRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Prompt to conditioning (CLIP): the `encodeText` stage.
    case textEncoder = "text_encoder"
    /// Iterative denoiser (UNet, DiT): the `denoise` stage.
    case denoiser
    /// Latents to pixels (VAE decoder): the `decode` stage; a video VAE also encodes keyframes (`encodeImage`).
    case decoder
    /// Phonemes to speech (VITS): the `speak` stage.
    case voice
    /// A prompt to music (Stable Audio's text encoder, DiT and VAE, run as one pipeline): the `generateMusic` stage.
    case music
    /// A picture to a larger one (Real-ESRGAN): the `upscale` stage (and `kinora upscale`).
    case upscaler
    /// Two frames to the frames between them (RIFE): the `interpolate` stage (and `kinora interpolate`).
    case interpolator
}
