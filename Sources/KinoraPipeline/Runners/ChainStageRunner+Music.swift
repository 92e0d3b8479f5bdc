import Foundation
import KinoraGPU
import KinoraMedia
import KinoraModels

/// What a generated music cue asks its model for.
struct MusicRequest: Sendable {
    var prompt: String
    /// Steered away from with guidance; nil: none.
    var negative: String?
    var seconds: Double
    var steps: Int
    /// Classifier-free guidance; 1 or less: none.
    var cfg: Double
    var seed: UInt64
}

/// A music model the chain runs: one per music family, opened by `ChainStageRunner.openMusicGenerator`.
protocol MusicGenerator: AnyObject {
    /// `request.seconds` of music at the model's own rate and channels; `progress` gets (steps done, steps).
    func generate(_ request: MusicRequest, progress: (Int, Int) -> Void) throws -> AudioBuffer
}

extension StableAudioPipeline: MusicGenerator {
    /// The span from 0 to `seconds` of the model's window, as `kinora music` asks for it.
    func generate(_ request: MusicRequest, progress: (Int, Int) -> Void) throws -> AudioBuffer {
        let settings = Settings(
            prompt: request.prompt, negativePrompt: request.negative, secondsStart: 0,
            secondsEnd: request.seconds, steps: request.steps,
            guidanceScale: Float(request.cfg), seed: request.seed)
        let audio = try generate(settings, progress: progress)
        return try AudioBuffer(sampleRate: audio.sampleRate, channels: audio.channels, samples: audio.interleaved)
    }
}

extension MusicGenPipeline: MusicGenerator {
    /// `seconds` of music sampled as the folder says, with the cue's guidance; MusicGen has no steps and no negative
    /// prompt (the workflow's validation refuses one).
    func generate(_ request: MusicRequest, progress: (Int, Int) -> Void) throws -> AudioBuffer {
        var sampling = defaultSampling
        sampling.guidanceScale = Float(request.cfg)
        let audio = try generate(
            Settings(prompt: request.prompt, seconds: request.seconds, sampling: sampling, seed: request.seed),
            progress: progress)
        return try AudioBuffer(sampleRate: audio.sampleRate, channels: audio.channels, samples: audio.interleaved)
    }
}

/// The music stage: a generated cue made by its model and written, at the output's sample rate, as the same
/// `audio.wav` (32-bit float) a file cue's `load` writes, so the mix places, trims, loops and ducks both alike.
extension ChainStageRunner {
    /// The generator of the music model folder `folder`, its models running their activations in `precision` (the
    /// model's `precision:`; nil: each its weights' type), as `kinora music --precision` runs them: the one place in
    /// the runner a music family plugs in.
    static func openMusicGenerator(_ folder: MusicModelFolder, device: GPUDevice, precision: ActivationPrecision?)
        throws -> any MusicGenerator {
        switch folder.kind {
        case .stableAudio:
            let pipeline = try StableAudioPipeline(folder: folder.url, device: device)
            pipeline.precision = precision
            return pipeline
        case .musicGen:
            let pipeline = try MusicGenPipeline(folder: folder.url, device: device)
            pipeline.precision = precision
            return pipeline
        }
    }

    func generateMusic(_ stage: Stage, model: (any StageModel)?, into folder: URL, progress: (Int) -> Void) throws {
        guard let model, let generator = musicGenerators[model.identity.key] else {
            throw RunnerError.modelNotLoaded(stage: stage.id, model: model?.identity.name ?? "music")
        }
        let negative = try string(stage, "negative")
        let request = MusicRequest(
            prompt: try string(stage, "prompt"), negative: negative.isEmpty ? nil : negative,
            seconds: try number(stage, "seconds"), steps: try int(stage, "steps"),
            cfg: try number(stage, "cfg"), seed: stage.seed ?? 0)
        let music = try generator.generate(request) { done, _ in progress(done) }
        try requireFinite(music.samples, "music", of: stage, model: model)
        let audio = try Resampler.resample(music, to: try int(stage, "sample_rate"))
        try AudioFile.write(audio, to: folder.appendingPathComponent("audio.wav"), format: .wavFloat)
    }
}
