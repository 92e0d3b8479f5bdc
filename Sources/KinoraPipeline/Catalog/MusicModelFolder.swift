import Foundation
import KinoraFormats
import KinoraGPU
import KinoraModels

/// Which generator a music model folder holds, told by its own files: a diffusers folder whose `model_index.json`
/// names `StableAudioPipeline`, or a transformers folder whose `config.json` says `"model_type": "musicgen"`.
public enum MusicModelKind: String, Sendable, Hashable, CaseIterable {
    case stableAudio = "Stable Audio"
    case musicGen = "MusicGen"

    /// The kind of the folder at `url`. Throws `MusicModelError.notAMusicModel` (naming what the folder is instead)
    /// for anything else.
    public static func detect(_ url: URL) throws -> MusicModelKind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MusicModelError.notAMusicModel(path: url.path, found: "not a folder")
        }
        let index = json(url.appending(path: "model_index.json"))
        if let name = index?["_class_name"] as? String {
            if name == "StableAudioPipeline" { return .stableAudio }
            throw MusicModelError.notAMusicModel(path: url.path, found: "a \(name) folder")
        }
        if let type = json(url.appending(path: "config.json"))?["model_type"] as? String {
            if type == "musicgen" { return .musicGen }
            throw MusicModelError.notAMusicModel(path: url.path, found: "a '\(type)' model")
        }
        throw MusicModelError.notAMusicModel(
            path: url.path,
            found: "a folder with neither model_index.json nor a "
                + "config.json with a model_type")
    }

    private static func json(_ url: URL) -> [String: Any]? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}

/// A music model folder as the chain plans it: its kind, the longest piece one generation makes and how much it
/// computes for a piece, read from the folder's configurations before anything runs. This and
/// `ChainStageRunner.openMusicGenerator` are where a music family plugs in: each switches once on `MusicModelKind`.
public struct MusicModelFolder: Sendable, Hashable {
    public var url: URL
    public var kind: MusicModelKind
    /// The longest piece one generation makes, in seconds (Stable Audio: `sample_size` latent frames of the VAE's
    /// `hop_length` samples, 47.55 s for Stable Audio Open 1.0).
    public var maximumSeconds: Double

    /// Reads the folder at `url`: its kind, and its configurations and weight files (each part's weights must be
    /// there and readable, so a missing T5 is reported now rather than when the cue's stage runs). Throws
    /// `MusicModelError`.
    public static func open(_ url: URL) throws -> MusicModelFolder {
        let kind = try MusicModelKind.detect(url)
        switch kind {
        case .stableAudio:
            let parts = [
                ("text_encoder", "the T5 text encoder"), ("projection_model", "the projection model"),
                ("transformer", "the DiT"), ("vae", "the Oobleck VAE"),
            ]
            for (part, role) in parts {
                let folder = url.appending(path: part)
                do {
                    _ = try WeightFolder.open(folder)
                } catch {
                    throw MusicModelError.unusablePart(path: url.path, part: "\(part)/ (\(role))", reason: "\(error)")
                }
            }
            guard FileManager.default.fileExists(atPath: url.appending(path: "tokenizer").path) else {
                throw MusicModelError.unusablePart(path: url.path, part: "tokenizer/", reason: "it is missing")
            }
            let dit: StableAudioDiTConfig
            let vae: AutoencoderOobleckConfig
            do {
                dit = try StableAudioDiTConfig.load(from: url.appending(path: "transformer/config.json"))
                vae = try AutoencoderOobleckConfig.load(from: url.appending(path: "vae/config.json"))
            } catch {
                throw MusicModelError.unusablePart(path: url.path, part: "a config.json", reason: "\(error)")
            }
            let seconds = Double(dit.sampleSize * vae.hopLength) / Double(vae.samplingRate)
            return MusicModelFolder(url: url, kind: kind, maximumSeconds: seconds)
        case .musicGen:
            do {
                _ = try MusicGenConfig.load(from: url.appending(path: "config.json"))
                _ = try WeightFolder.open(url)
            } catch {
                throw MusicModelError.unusablePart(path: url.path, part: "config.json or model.safetensors",
                                                   reason: "\(error)")
            }
            guard ["tokenizer.json", "spiece.model"].contains(where: {
                FileManager.default.fileExists(atPath: url.appending(path: $0).path)
            }) else {
                throw MusicModelError.unusablePart(path: url.path, part: "T5 tokenizer",
                                                   reason: "neither tokenizer.json nor spiece.model is there")
            }
            return MusicModelFolder(url: url, kind: kind, maximumSeconds: MusicGenPipeline.maximumSeconds)
        }
    }

    /// Seconds of audio one generation of `seconds` computes: Stable Audio always makes its whole window and cuts the
    /// piece from it, so its memory and time do not depend on the length asked.
    public func generatedSeconds(for seconds: Double) -> Double {
        switch kind {
        case .stableAudio: return maximumSeconds
        case .musicGen: return seconds
        }
    }

    /// The device memory of one generation, with or without classifier-free guidance, from the family's own planner
    /// over the folder's weights (shapes only: nothing is uploaded): the weights of every part and the peak, weights
    /// included.
    /// `seconds`: the cue's length (Stable Audio's plan is its window's whatever the length); `precision`: the
    /// activation precision the generator runs in (a model's `precision:`; nil: each model its weights' type).
    public func plannedMemory(seconds: Double, guidance: Bool, device: GPUDevice,
                              precision: ActivationPrecision? = nil) throws
        -> (weightBytes: UInt64, peakBytes: UInt64) {
        switch kind {
        case .stableAudio:
            let plan = try StableAudioMemoryPlanner.plan(folder: url, guidance: guidance, device: device,
                                                         precision: precision)
            return (plan.stages.map(\.weightBytes).max() ?? 0, plan.peakBytes)
        case .musicGen:
            // The cue's windows and its whole decode; the prompt at T5's longest.
            let plan = try MusicGenMemoryPlanner.plan(folder: url, seconds: seconds, guidance: guidance,
                                                      device: device, precision: precision)
            return (plan.stages.map(\.weightBytes).max() ?? 0, plan.peakBytes)
        }
    }
}

/// Why a folder cannot make a workflow's generated music.
public enum MusicModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The folder holds no music model Kinora knows (`found` says what it is).
    case notAMusicModel(path: String, found: String)
    /// A part the generator needs is missing or unreadable.
    case unusablePart(path: String, part: String, reason: String)

    public var description: String {
        switch self {
        case .notAMusicModel(let path, let found):
            return "\(path) is \(found), not a music model: Kinora generates music with a Stable Audio diffusers "
                + "folder (model_index.json naming StableAudioPipeline) or a MusicGen folder (config.json with "
                + "model_type musicgen)"
        case .unusablePart(let path, let part, let reason):
            return "\(path): the music model's \(part) cannot be used: \(reason)"
        }
    }
}
