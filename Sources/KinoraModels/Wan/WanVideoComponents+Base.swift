import Foundation

extension WanVideoComponents {
    /// A single transformer file (a causal model's training checkpoint, ComfyUI's diffusion model) whose other parts
    /// come from the diffusers Wan folder `base` of the same architecture: its VAE, text encoder, tokenizer,
    /// scheduler, `expand_timesteps` and the transformer's `config.json`, as the folder itself would run them.
    /// Throws `WanVideoComponentsError` naming `base` when it is no Wan diffusers folder.
    public init(transformerFile: URL, base: URL) throws {
        let folder = try WanVideoComponents(folder: base)
        try self.init(
            transformer: .file(transformerFile), vae: folder.vae, textEncoder: folder.textEncoder,
            tokenizer: folder.tokenizer, configuration: base)
        scheduler = folder.scheduler
        expandTimesteps = folder.expandTimesteps
    }
}
