import ArgumentParser
import Foundation
import KinoraMedia
import KinoraModels
import KinoraPipeline

/// `kinora music --model <MusicGen folder>`: a Hugging Face MusicGen folder (facebook/musicgen-small and its kin)
/// makes `--seconds` of music (default 30, up to 600 in windows that continue each other), sampled as the folder's
/// generation_config.json says unless --top-k, --top-p, --temperature, --greedy or --cfg say otherwise.
extension MusicCommand {
    /// Whether `url` is a folder whose config.json is a MusicGen's (as the render chain tells music folders apart).
    static func isMusicGenFolder(_ url: URL) -> Bool {
        (try? MusicModelKind.detect(url)) == .musicGen
    }

    func runMusicGen(output: URL) throws {
        let started = Date()
        guard steps == nil, negative == nil, start == 0, initAudio == nil else {
            throw ValidationError("--steps, --negative and --start are for Stable Audio, as is --init-audio; MusicGen "
                + "makes its codes one step a frame, takes no negative prompt or initial audio and starts at 0")
        }
        guard t5 == nil, tokenizer == nil, modelConfig == nil, vae == nil else {
            throw ValidationError("--t5, --tokenizer, --model-config and --vae are for Stable Audio checkpoint files; "
                + "a MusicGen folder holds its own")
        }
        let pipeline = try MusicGenPipeline(folder: URL(fileURLWithPath: model), device: try deviceOptions.open())
        pipeline.precision = precision
        var sampling = pipeline.defaultSampling
        if greedy { sampling.sample = false }
        if let topK { sampling.topK = topK }
        if let topP { sampling.topP = topP }
        if let temperature { sampling.temperature = temperature }
        if let cfg { sampling.guidanceScale = cfg }
        let settings = MusicGenPipeline.Settings(prompt: prompt, seconds: seconds ?? 30, sampling: sampling, seed: seed)
        // Every setting is checked before any work: the seconds against the model, the sampling's ranges.
        let windows = try pipeline.windows(seconds: settings.seconds)
        try sampling.validate()
        Self.report(activations: [
            ("T5", pipeline.textEncoder.activationType(precision)),
            ("decoder", pipeline.decoder.activationType(precision)),
            ("EnCodec", pipeline.codec.activationType(precision)),
        ])
        let bar = ProgressBar(label: "generating")
        let generationStarted = Date()
        let audio = try pipeline.generate(settings) { step, total in bar.update(step, of: total) }
        bar.finish()
        let buffer = try AudioBuffer(sampleRate: audio.sampleRate, channels: audio.channels, samples: audio.interleaved)
        try AudioFile.write(buffer, to: output)
        let duration = Double(audio.frames) / Double(audio.sampleRate)
        let compute = Date().timeIntervalSince(generationStarted)
        print("wrote \(output.path): " + String(
            format: "%.2f s of %d-channel audio at %d Hz, %d code frames in %d window(s) in %.2f s (real-time factor "
                + "%.2f), wall %.2f s", duration, audio.channels, audio.sampleRate, windows.frames,
            windows.windows.count, compute, duration / max(compute, 1e-9), Date().timeIntervalSince(started)))
    }
}
