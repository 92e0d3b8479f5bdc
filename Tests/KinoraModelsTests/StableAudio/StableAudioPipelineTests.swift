import Foundation
import KinoraFormats
import XCTest

@testable import KinoraModels

/// `StableAudioPipeline` against diffusers 0.42.1's `StableAudioPipeline` on a tiny random-weight folder
/// (`Tests/Fixtures/stable-audio`, `scripts/fixtures/make_stable_audio_pipeline_fixtures.py`): the same prompt, span,
/// steps, guidance and seed give diffusers' audio when its SDE noise is drawn from the seeded generator as Kinora
/// draws it — with guidance and zeros as the unconditional text, with a negative prompt, and without guidance; and
/// audio-to-audio from a short stereo and a long mono initial audio.
final class StableAudioPipelineTests: ModelTestCase {
    func testTheTinyPipelineMakesDiffusersAudio() throws {
        let pipeline = try StableAudioPipeline(folder: fixtureURL("stable-audio"), device: device)
        XCTAssertEqual(pipeline.promptTokens, 12)
        XCTAssertEqual(pipeline.maximumSeconds, 2)
        let expected = try SafetensorsFile(url: fixtureURL("stable-audio/expected.safetensors"))
        let ids = try expected.floats("input_ids").map { Int($0) }
        XCTAssertEqual(pipeline.tokenizer.encode("a red fox in the snow", maximumLength: 12).ids, ids)
        let cases: [(String, StableAudioPipeline.Settings, Int)] = [
            (
                "cfg",
                .init(
                    prompt: "a red fox in the snow", secondsStart: 0.25, secondsEnd: 1.75, steps: 4, guidanceScale: 3,
                    seed: 7), 24
            ),
            (
                "negative",
                .init(
                    prompt: "a red fox in the snow", negativePrompt: "rain", secondsEnd: 2, steps: 3,
                    guidanceScale: 2.5, seed: 11), 32
            ),
            ("plain", .init(prompt: "a red fox in the snow", steps: 5, guidanceScale: 1, seed: 3), 32),
        ]
        var outputs: [[Float]] = []
        for (name, settings, frames) in cases {
            var steps: [Int] = []
            let audio = try pipeline.generate(settings) { step, _ in steps.append(step) }
            XCTAssertEqual(steps, Array(1...settings.steps), name)
            XCTAssertEqual([audio.channels, audio.sampleRate, audio.frames], [2, 16, frames], name)
            let reference = try expected.floats("\(name).audio")
            let error = relativeL2(audio.samples, reference)
            XCTAssertLessThanOrEqual(error, 1e-4, name)
            print("Stable Audio tiny pipeline (\(name)) vs diffusers: relative L2 \(error)")
            outputs.append(audio.samples)
        }
        XCTAssertGreaterThan(relativeL2(outputs[1], outputs[2]), 1e-2, "guidance and the negative prompt matter")
    }

    /// diffusers' `initial_audio_waveforms`: a stereo waveform shorter than the window (padded) and a mono one given
    /// as [B, L] and longer (repeated to stereo, cut), encoded and sampled with the seeded generator after the starting
    /// latents and added to them, give diffusers' posterior sample and audio — which differ from the same seed's text
    /// to audio.
    func testAnInitialAudioMakesDiffusersAudio() throws {
        let pipeline = try StableAudioPipeline(folder: fixtureURL("stable-audio"), device: device)
        let expected = try SafetensorsFile(url: fixtureURL("stable-audio/expected.safetensors"))
        let cases: [(String, Int, StableAudioPipeline.Settings, Int)] = [
            (
                "init", 2,
                .init(
                    prompt: "a red fox in the snow", secondsStart: 0.25, secondsEnd: 1.75, steps: 4, guidanceScale: 3,
                    seed: 5), 24
            ),
            ("init_mono", 1, .init(prompt: "a red fox in the snow", steps: 3, guidanceScale: 1, seed: 9), 32),
        ]
        for (name, channels, textToAudio, frames) in cases {
            let initial = StableAudioPipeline.Audio(
                channels: channels, sampleRate: 16, samples: try expected.floats("\(name).waveform"))
            var random = TorchRandom(seed: textToAudio.seed)
            _ = random.normal(count: 3 * 8)
            let encoded = try pipeline.encodeInitialAudio(initial, noise: &random)
            let encodedError = relativeL2(encoded, try expected.floats("\(name).encoded"))
            XCTAssertLessThanOrEqual(encodedError, 1e-4, name)
            var settings = textToAudio
            settings.initialAudio = initial
            let audio = try pipeline.generate(settings)
            XCTAssertEqual([audio.channels, audio.sampleRate, audio.frames], [2, 16, frames], name)
            let error = relativeL2(audio.samples, try expected.floats("\(name).audio"))
            XCTAssertLessThanOrEqual(error, 1e-4, name)
            XCTAssertGreaterThan(
                relativeL2(try pipeline.generate(textToAudio).samples, audio.samples), 1e-2, "\(name): it matters")
            print(
                "Stable Audio tiny pipeline (\(name)) vs diffusers: relative L2 \(error), posterior sample "
                    + "\(encodedError)")
        }
    }

    /// The plan (each stage with the weights used so far, the largest stage) is at or above the allocator's peak of a
    /// whole run by a pipeline that has uploaded nothing yet, and within 5% of it — text to audio, and with an
    /// initial audio to encode.
    func testThePlanCoversARunsPeak() throws {
        for initialAudio in [false, true] {
            let planned = try StableAudioPipeline(folder: fixtureURL("stable-audio"), device: device)
            let plan = try StableAudioMemoryPlanner.plan(
                textEncoder: planned.textEncoder, projection: planned.projection, transformer: planned.transformer,
                vae: planned.vae, promptTokens: planned.promptTokens, guidance: true, initialAudio: initialAudio,
                device: device)
            XCTAssertEqual(
                plan.stages.map(\.stage),
                ["text encoding"] + (initialAudio ? ["audio encoding"] : []) + ["denoise", "decode"])
            // The run uploads its weights as the pipeline reaches each model; what else is live (the planned
            // pipeline's weights, what earlier tests left) is not the run's.
            let pipeline = try StableAudioPipeline(folder: fixtureURL("stable-audio"), device: device)
            let memory = device.memory
            memory.trim()
            let before = memory.liveBytes
            memory.resetPeak()
            let audio = StableAudioPipeline.Audio(channels: 1, sampleRate: 16, samples: (0..<40).map { sin(Float($0)) })
            _ = try pipeline.generate(
                .init(
                    prompt: "a red fox in the snow", steps: 2, guidanceScale: 3, seed: 1,
                    initialAudio: initialAudio ? audio : nil))
            let measured = memory.peakBytes - before
            XCTAssertGreaterThanOrEqual(plan.peakBytes, measured)
            XCTAssertLessThanOrEqual(Double(plan.peakBytes), 1.05 * Double(measured))
            print(
                "Stable Audio tiny pipeline (initial audio: \(initialAudio)): planned peak \(plan.peakBytes) bytes, "
                    + "measured \(measured); stages \(plan.stages.map { "\($0.stage) \($0.peakBytes)" })")
        }
    }

    func testRequestsTheModelCannotMakeAreRefused() throws {
        let pipeline = try StableAudioPipeline(folder: fixtureURL("stable-audio"), device: device)
        let cases: [(StableAudioPipeline.Settings, String)] = [
            (.init(prompt: "x", secondsEnd: 3), "3.00 s of audio asked; this model makes at most 2.00 s"),
            (.init(prompt: "x", secondsStart: 1, secondsEnd: 0.5), "must start within"),
            (.init(prompt: "x", secondsStart: -1, secondsEnd: 0.5), "must start within"),
            (.init(prompt: "x", steps: 0), "steps must be 1...1000"),
            (.init(prompt: "x", guidanceScale: .nan), "guidance must be a finite number"),
            (
                .init(prompt: "x", initialAudio: .init(channels: 1, sampleRate: 8, samples: [0, 1])),
                "the initial audio is at 8 Hz; the VAE takes 16 Hz: resample it first"
            ),
            (
                .init(prompt: "x", initialAudio: .init(channels: 3, sampleRate: 16, samples: [0, 1, 2])),
                "the initial audio has 3 channels; this model takes mono or 2"
            ),
            (
                .init(prompt: "x", initialAudio: .init(channels: 2, sampleRate: 16, samples: [0, 1, 2])),
                "are not 2 whole channels"
            ),
            (
                .init(prompt: "x", initialAudio: .init(channels: 1, sampleRate: 16, samples: [0, .infinity])),
                "samples that are not finite"
            ),
        ]
        for (settings, message) in cases {
            XCTAssertThrowsError(try pipeline.generate(settings)) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
        XCTAssertThrowsError(try StableAudioPipeline(folder: fixtureURL("wan-pipeline/t2v"), device: device)) {
            XCTAssertTrue("\($0)".contains("no projection_model/"), "\($0)")
        }
    }
}
