import Foundation
import KinoraModels

/// What the stage graph needs to know of a video model's diffusers folder before anything runs: whether it takes a
/// keyframe (Wan 2.2 TI2V's `expand_timesteps`), the multiple both sides of a clip must be, and the frames a latent
/// frame covers. Read from the folder's `model_index.json` and its components' `config.json`; no weights are read.
/// A single transformer file is read with the diffusers folder its other parts come from (its `base`), and checked
/// against that folder's transformer configuration.
public struct VideoModelFolder: Sendable, Equatable {
    public var url: URL
    /// The diffusers folder a single transformer file's VAE, text encoder, tokenizer and configuration come from;
    /// nil when `url` is that folder itself.
    public var base: URL?
    /// Whether the model starts a clip from a picture (image to video).
    public var takesKeyframe: Bool
    /// The VAE's spatial stride times the transformer's patch (16 for Wan 2.1, 32 for Wan 2.2 TI2V 5B).
    public var sizeMultiple: Int
    /// Frames per latent frame after the first: clips have `temporalScale`·k + 1 frames.
    public var temporalScale: Int
    /// Whether the transformer's weights are a training checkpoint's generator (`generator_ema` / `generator`), as
    /// Self-Forcing, CausVid and LongLive save their causal models: a stream takes such a file as causal.
    public var isTrainingCheckpoint: Bool = false

    public init(url: URL, base: URL? = nil, takesKeyframe: Bool, sizeMultiple: Int, temporalScale: Int,
                isTrainingCheckpoint: Bool = false) {
        self.url = url
        self.base = base
        self.takesKeyframe = takesKeyframe
        self.sizeMultiple = sizeMultiple
        self.temporalScale = temporalScale
        self.isTrainingCheckpoint = isTrainingCheckpoint
    }

    /// Reads the Wan diffusers folder at `url`, or with `base` the single transformer file at `url` and the
    /// diffusers folder `base` its other parts come from, the file's tensors checked against the folder's
    /// `transformer/config.json` (tensor names and shapes only). A single file without a base is refused: a
    /// workflow's video model needs its VAE, text encoder and tokenizer, which only a folder names.
    public static func open(_ url: URL, base: URL? = nil) throws -> VideoModelFolder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw Failure(path: url.path, reason: "does not exist")
        }
        guard let base else {
            guard isDirectory.boolValue else {
                throw Failure(path: url.path, reason: "a single transformer file needs a base: the Wan diffusers "
                    + "folder its VAE, text encoder, tokenizer and configuration come from ('base' in the workflow's "
                    + "models entry)")
            }
            return try read(folder: url, components: WanVideoComponents(folder: url))
        }
        guard !isDirectory.boolValue else {
            throw Failure(path: url.path, reason: "is a diffusers folder with its own VAE, text encoder and "
                + "tokenizer; a base is for a single transformer file")
        }
        var read: VideoModelFolder
        let transformer: WanTransformer3DConfig
        do {
            read = try Self.read(folder: base, components: WanVideoComponents(transformerFile: url, base: base))
            transformer = try WanTransformer3DConfig.load(from: base.appending(path: "transformer/config.json"))
        } catch {
            throw Failure(path: base.path, reason: "cannot serve as the base of \(url.lastPathComponent): \(error)",
                          concernsBase: true)
        }
        let file: WanTransformerFile
        do {
            file = try WanTransformerFile(url: url)
        } catch {
            throw Failure(path: url.path, reason: "\(error)")
        }
        do {
            try file.check(against: transformer)
        } catch {
            throw Failure(path: url.path, reason: "is not of the base's architecture (\(base.path)/transformer/"
                + "config.json): \(error); the base must be a diffusers folder of the same model, such as Wan 2.1 "
                + "T2V 1.3B's for Self-Forcing's, CausVid's and LongLive's checkpoints", concernsBase: true)
        }
        read.url = url
        read.base = base
        read.isTrainingCheckpoint = file.isTrainingCheckpoint
        return read
    }

    /// The sizes of the diffusers folder `folder` whose parts are `components`.
    private static func read(folder: URL, components: WanVideoComponents) throws -> VideoModelFolder {
        let transformer = try WanTransformer3DConfig.load(from: folder.appending(path: "transformer/config.json"))
        let vae = try AutoencoderKLWanConfig.load(from: folder.appending(path: "vae/config.json"))
        return VideoModelFolder(
            url: folder, takesKeyframe: components.expandTimesteps ?? false,
            sizeMultiple: vae.spatialCompression * max(transformer.patchSize[1], transformer.patchSize[2]),
            temporalScale: vae.temporalCompression)
    }

    /// Why a video model's folder, file or base cannot be used.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        /// Whether the base is at fault (it is no Wan diffusers folder, or not of the file's architecture), so that
        /// the message names the `base` the workflow gives.
        public var concernsBase: Bool = false

        public var description: String { "\(path): \(reason)" }
    }
}
