import Foundation
import KinoraFormats
import XCTest

@testable import KinoraModels

/// `MusicGenPipeline` on the tiny folder (`Tests/Fixtures/musicgen`): greedy codes and audio as transformers'
/// `generate`, windows stitched as audiocraft's `_generate_tokens`, the memory plan against the allocator, and the
/// refusals.
final class MusicGenPipelineTests: ModelTestCase {
    func testGreedyGenerationGivesTransformersCodesAndAudio() throws {
        let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
        XCTAssertEqual(pipeline.defaultSampling, MusicGenSampling(topK: 250, guidanceScale: 3))
        let expected = try SafetensorsFile(url: fixtureURL("musicgen/expected.safetensors"))
        var steps: [Int] = []
        // 17 frames at the tiny codec's 100 frames a second.
        let audio = try pipeline.generate(
            .init(prompt: "a red fox in the snow", seconds: 0.17, sampling: .greedy(guidanceScale: 3))
        ) { step, total in
            steps.append(step)
            XCTAssertEqual(total, 20)
        }
        XCTAssertEqual(steps, Array(1...20))
        XCTAssertEqual([audio.channels, audio.sampleRate, audio.frames], [1, 800, 136])
        assertClose(audio.samples, try expected.floats("greedy.audio"), tolerance: 1e-5)
        let codes = try pipeline.codes(.init(prompt: "a red fox in the snow", seconds: 0.17,
                                             sampling: .greedy(guidanceScale: 3)))
        XCTAssertEqual(Array(codes.joined()), try expected.floats("greedy.codes").map { Int($0) })
    }

    func testWindowsFollowAudiocraftsExtendStride() throws {
        // audiocraft's loop for 100 frames, windows of 40, stride 24: 40 made, then 3 windows each prompted by the
        // last 16 frames of the one before, the last one shorter.
        let windows = try MusicGenWindows(frames: 100, windowFrames: 40, strideFrames: 24).windows
        XCTAssertEqual(windows.map(\.frames), [40, 40, 40, 28])
        XCTAssertEqual(windows.map(\.promptFrames), [0, 16, 16, 16])
        XCTAssertEqual(windows.map(\.start), [0, 24, 48, 72])
        XCTAssertEqual(try MusicGenWindows(frames: 30, windowFrames: 40, strideFrames: 24).windows.count, 1)

        // The tiny model with 0.2 s windows and a 0.12 s stride: a 0.5 s cue is 50 frames in 4 windows; each window
        // continues the last 8 frames of the one before as the decoder continues an audio prompt.
        let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
        pipeline.windowSeconds = 0.2
        pipeline.extendStrideSeconds = 0.12
        let settings = MusicGenPipeline.Settings(prompt: "a red fox", seconds: 0.5, sampling: .greedy())
        let codes = try pipeline.codes(settings)
        XCTAssertEqual(codes.map(\.count), [50, 50, 50, 50])
        let first = try pipeline.codes(.init(prompt: "a red fox", seconds: 0.2, sampling: .greedy()))
        XCTAssertEqual(codes.map { Array($0.prefix(20)) }, first)
        // The second window by hand: prompted with frames 12..<20, it makes 20 frames whose last 12 follow.
        let ids = pipeline.tokenizer.ids("a red fox")
        let graph = makeGraph()
        let states = try graph.run([try pipeline.textEncoder(graph, inputIDs: [ids])])[0].floats()
        let second = try pipeline.decoder.generate(
            .init(textStates: states, textMask: ids.map { _ in 1 },
                  pattern: MusicGenDelayPattern(codebooks: 4, audioChannels: 1, frames: 20, pad: 64,
                                                prompt: first.map { Array($0[12..<20]) }),
                  sampling: .greedy(), seed: 1), arena: arena)
        XCTAssertEqual(codes.map { Array($0[20..<32]) }, second.map { Array($0[8...]) })
    }

    func testTheMemoryPlanIsTheAllocatorsPeak() throws {
        let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
        let memory = device.memory
        memory.trim()
        let before = memory.liveBytes
        memory.resetPeak()
        let settings = MusicGenPipeline.Settings(prompt: "a red fox in the snow", seconds: 0.17,
                                                 sampling: .greedy())
        _ = try pipeline.generate(settings)
        let measured = memory.peakBytes - before
        let ids = pipeline.tokenizer.ids(settings.prompt)
        let plan = try MusicGenMemoryPlanner.plan(
            textEncoder: pipeline.textEncoder, decoder: pipeline.decoder, promptTokens: ids.count, windowFrames: 17,
            promptFrames: 0, guidance: true, device: device, codec: pipeline.codec, cueFrames: 17)
        XCTAssertEqual(plan.stages.map(\.stage), ["text encoding", "generation", "audio decode"])
        print("MusicGen tiny: measured peak \(measured), planned \(plan.stages.map { "\($0.stage) \($0.peakBytes)" })")
        XCTAssertEqual(measured, plan.peakBytes)
        // The generation alone, its weights now on the device: what it allocates beside them, against the plan.
        let graph = makeGraph()
        let states = try graph.run([try pipeline.textEncoder(graph, inputIDs: [ids])])[0].floats()
        memory.trim()
        let resident = memory.liveBytes
        memory.resetPeak()
        _ = try pipeline.decoder.generate(
            .init(textStates: states, textMask: ids.map { _ in 1 },
                  pattern: MusicGenDelayPattern(codebooks: 4, audioChannels: 1, frames: 17, pad: 64),
                  sampling: .greedy(), seed: 0), arena: pipeline.arena)
        let generation = plan.stages[1]
        print("MusicGen tiny generation: measured \(memory.peakBytes - resident) beside the weights, planned "
            + "\(generation.peakBytes - generation.weightBytes)")
        XCTAssertEqual(memory.peakBytes - resident, generation.peakBytes - generation.weightBytes)
    }

    func testALongPromptKeepsItsStartAndEndsWithTheEndToken() throws {
        let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
        let short = pipeline.promptIDs("a red fox in the snow")
        XCTAssertEqual(short, pipeline.tokenizer.ids("a red fox in the snow"))
        let long = pipeline.promptIDs(String(repeating: "a red fox in the snow ", count: 200))
        XCTAssertEqual(long.count, MusicGenPipeline.promptTokens)
        XCTAssertEqual(Array(long.prefix(short.count - 1)), Array(short.dropLast()), "the prompt's start is kept")
        XCTAssertEqual(long.last, short.last, "</s> ends it")
    }

    func testBadRequestsAreRefusedBeforeAnyWork() throws {
        let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
        for seconds in [0, -1, .nan, 601, 0.01] {
            XCTAssertThrowsError(try pipeline.codes(.init(prompt: "x", seconds: seconds))) { error in
                XCTAssertTrue(error is MusicGenError, "\(seconds): \(error)")
            }
        }
        XCTAssertThrowsError(try pipeline.codes(.init(prompt: "x", seconds: 0.1,
                                                      sampling: MusicGenSampling(temperature: 0))))
        // Another family's folder, and a folder without a config.
        XCTAssertThrowsError(try MusicGenPipeline(folder: fixtureURL("stable-audio"), device: device)) { error in
            XCTAssertEqual(error as? MusicGenError, .missingFile(folder: fixtureURL("stable-audio").path,
                                                                 file: "config.json"))
        }
        XCTAssertThrowsError(try MusicGenPipeline(folder: fixtureURL("t5"), device: device)) { error in
            XCTAssertTrue("\(error)".contains("not 'musicgen'"), "\(error)")
        }
    }
}
