import Foundation
import KinoraModels

/// What the stage graph needs to know of a video model's diffusers folder before anything runs: whether it takes a
/// keyframe (Wan 2.2 TI2V's `expand_timesteps`), the multiple both sides of a clip must be, and the frames a latent
/// frame covers. Read from the folder's `model_index.json` and its components' `config.json`; no weights are read.
public struct VideoModelFolder: Sendable, Equatable {
    public var url: URL
    /// Whether the model starts a clip from a picture (image to video).
    public var takesKeyframe: Bool
    /// The VAE's spatial stride times the transformer's patch (16 for Wan 2.1, 32 for Wan 2.2 TI2V 5B).
    public var sizeMultiple: Int
    /// Frames per latent frame after the first: clips have `temporalScale`·k + 1 frames.
    public var temporalScale: Int

    public init(url: URL, takesKeyframe: Bool, sizeMultiple: Int, temporalScale: Int) {
        self.url = url
        self.takesKeyframe = takesKeyframe
        self.sizeMultiple = sizeMultiple
        self.temporalScale = temporalScale
    }

    /// Reads the Wan diffusers folder at `url`. A single file (ComfyUI's transformer alone) is refused: a workflow's
    /// video model needs its VAE, text encoder and tokenizer beside it, which only a folder names.
    public static func open(_ url: URL) throws -> VideoModelFolder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Failure(path: url.path, reason: "a workflow's video model must be a Wan diffusers folder (its "
                + "model_index.json, text_encoder/, transformer/, vae/, tokenizer/ and scheduler/); single files "
                + "work with `kinora video --vae --text-encoder --tokenizer`")
        }
        let components = try WanVideoComponents(folder: url)
        let transformer = try WanTransformer3DConfig.load(from: url.appending(path: "transformer/config.json"))
        let vae = try AutoencoderKLWanConfig.load(from: url.appending(path: "vae/config.json"))
        return VideoModelFolder(
            url: url, takesKeyframe: components.expandTimesteps ?? false,
            sizeMultiple: vae.spatialCompression * max(transformer.patchSize[1], transformer.patchSize[2]),
            temporalScale: vae.temporalCompression)
    }

    /// Why a video model's folder cannot be used.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String

        public var description: String { "\(path): \(reason)" }
    }
}
