import Foundation
import KinoraGPU

/// Measuring a Piper voice's figure by running it: a voice's graphs depend on the durations it predicts, so its
/// stages cannot be recorded ahead of a run the way the image models' are.
extension CatalogActivationFigures {
    /// The voice's activation bytes per second of audio: each of `texts` (one sentence each, so no pause is counted
    /// as speech) is spoken by a freshly loaded voice, and the allocator's peak during the call, less what was live
    /// before and the weights that stayed afterwards (what stayed, less the voice's activation arena), is divided by
    /// the seconds of audio produced.
    public static func measure(voice files: PiperVoiceFiles, texts: [String], device: GPUDevice) throws
        -> CatalogActivationFigures {
        let memory = device.memory
        var samples: [Sample] = []
        for text in texts {
            memory.trim()
            let before = memory.liveBytes
            memory.resetPeak()
            let (speech, arenaBytes, after) = try {
                let synthesizer = try PiperSynthesizer(files: files, device: device)
                let speech = try synthesizer.speak(text)
                return (speech, synthesizer.voice.activationBytes, memory.liveBytes)
            }()
            let peak = memory.peakBytes
            let weights = after - min(after, before + arenaBytes)
            let bytes = peak - min(peak, before + weights)
            let characters = text.count
            samples.append(Sample(component: "voice", unit: "per_audio_second",
                                  setting: String(format: "%.2f s of audio, %d characters, %d sentence%@",
                                                  speech.duration, characters, speech.sentenceCount,
                                                  speech.sentenceCount == 1 ? "" : "s"),
                                  units: speech.duration, bytes: bytes))
        }
        memory.trim()
        return CatalogActivationFigures(model: files.model.lastPathComponent, device: device.physical.name,
                                        method: "allocator peak of run stages less the weights", samples: samples)
    }
}
