import Foundation
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Self-Forcing's inference loop on the tiny causal Wan against `scripts/fixtures/make_wan_causal_fixtures.py`'s
/// torch rendition of it (diffusers' transformer, full recomputation in place of the KV cache, the same noise), and
/// the schedules of Self-Forcing and CausVid.
final class WanAutoregressiveLoopTests: ModelTestCase {
    func testTheSchedulesAreTheModelsStepLists() throws {
        XCTAssertEqual(CausalDenoisingSchedule.selfForcing.timesteps, [1000, 937.5, 833.3333, 625])
        XCTAssertEqual(CausalDenoisingSchedule.causVid.timesteps, [1000, 757, 522])
        XCTAssertEqual(CausalDenoisingSchedule.selfForcing.sigma(1000), 1)
        XCTAssertEqual(CausalDenoisingSchedule.selfForcing.sigma(625), 0.625, accuracy: 1e-7)
        // CausVid's 757 lies between two table entries: the nearest one's σ.
        let causVid = CausalDenoisingSchedule.causVid
        XCTAssertEqual(causVid.sigma(757), 0.757, accuracy: 5e-4)
        XCTAssertThrowsError(try CausalDenoisingSchedule(stepList: [1000, 0], shift: 5, warp: true)) {
            XCTAssertTrue("\($0)".contains("step 0 is outside 1...1000"), "\($0)")
        }
        XCTAssertThrowsError(try CausalDenoisingSchedule(stepList: [], shift: 5, warp: true))
    }

    func testThreeChunksMatchSelfForcingsLoopFromTheSameNoise() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let causal = try WanCausalTransformer(transformer: transformer, arena: arena)
        let text = try Tensor(fixture("wan-causal/expected.safetensors").floats("text"), shape: [1, 12, 32], on: device)
        let expected = try fixture("wan-causal/loop.safetensors")
        XCTAssertEqual(try expected.floats("timesteps"), CausalDenoisingSchedule.selfForcing.timesteps)
        let loop = try WanAutoregressiveLoop(
            causal: causal, text: text, chunkFrames: 3, frameShape: (8, 4, 6), seed: 21)
        var progress: [WanAutoregressiveLoop.Progress] = []
        var chunks: [WanAutoregressiveLoop.Chunk] = []
        for _ in 0..<3 { chunks.append(try loop.next { progress.append($0) }) }
        XCTAssertEqual(chunks.map(\.startFrame), [0, 3, 6])
        XCTAssertEqual(loop.frames, 9)
        XCTAssertEqual(progress.count, 3 * 5, "4 denoising passes and the cache pass per chunk")
        // The chunks joined along the frames: [1, 8, 9, 4, 6].
        let plane = 4 * 6
        var joined = [Float](repeating: 0, count: 8 * 9 * plane)
        for chunk in chunks {
            for channel in 0..<8 {
                for frame in 0..<3 {
                    let source = (channel * 3 + frame) * plane
                    let target = (channel * 9 + chunk.startFrame + frame) * plane
                    joined.replaceSubrange(target..<(target + plane), with: chunk.latents[source..<(source + plane)])
                }
            }
        }
        let reference = try expected.floats("latents")
        for index in 0..<3 {
            let frames = (index * 3)..<(index * 3 + 3)
            let error = relativeL2(slice(joined, frames), slice(reference, frames))
            XCTAssertLessThanOrEqual(error, 1e-3, "chunk \(index)")
            print("autoregressive Wan loop, chunk \(index) vs the torch Self-Forcing loop: relative L2 \(error)")
        }
    }

    /// A rolling window with an attention sink: the chunks before the window fills are the unbounded run's, the
    /// stream goes on past the tiny model's 32 rotary positions, and after 1, 4 and 16 windows the cache and the
    /// allocator's peak during a chunk are the same.
    func testARollingWindowKeepsMemoryFlatForAnyLength() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let text = try Tensor(fixture("wan-causal/expected.safetensors").floats("text"), shape: [1, 12, 32], on: device)
        let schedule = try CausalDenoisingSchedule(stepList: [1000, 500], shift: 5, warp: true)
        func loop(_ window: WanAttentionWindow?) throws -> WanAutoregressiveLoop {
            try WanAutoregressiveLoop(
                causal: WanCausalTransformer(transformer: transformer, arena: arena, cacheType: .f16, window: window),
                text: text, schedule: schedule, chunkFrames: 2, frameShape: (8, 4, 6), seed: 5)
        }
        // A window of 6 latent frames with a sink of 2: the cache keeps 4 between chunks of 2.
        let window = try WanAttentionWindow(frames: 6, sinkFrames: 2)
        let bounded = try loop(window)
        let unbounded = try loop(nil)
        for index in 0..<4 {
            let (a, b) = (try bounded.next(), try unbounded.next())
            if index < 3 {
                XCTAssertEqual(a.latents, b.latents, "chunk \(index), before the window fills")
            } else {
                XCTAssertNotEqual(a.latents, b.latents, "chunk \(index) no longer sees frames 2 and 3")
            }
        }
        XCTAssertEqual(bounded.cache.keptFrames, 4)
        XCTAssertEqual(unbounded.cache.keptFrames, 8)

        // A window is 3 chunks: the chunks that end windows 1, 4 and 16 (chunks 3, 12, 48; 96 latent frames).
        var peaks: [Int: UInt64] = [:]
        var bytes: [Int: Int] = [:]
        let stream = try loop(window)
        for chunk in 1...48 {
            device.memory.resetPeak()
            _ = try stream.next()
            if [3, 12, 48].contains(chunk) {
                peaks[chunk] = device.memory.peakBytes
                bytes[chunk] = stream.cache.bytes
            }
        }
        XCTAssertEqual(stream.frames, 96)
        XCTAssertEqual(stream.cache.keptFrames, 4)
        XCTAssertEqual(Set(bytes.values).count, 1, "\(bytes)")
        XCTAssertEqual(Set(peaks.values).count, 1, "\(peaks)")
        print("autoregressive Wan, rolling window: peak \(peaks) bytes, cache \(bytes) bytes")
        XCTAssertThrowsError(try WanAttentionWindow(frames: 4, sinkFrames: 4))
        XCTAssertThrowsError(
            try WanCausalTransformer(
                transformer: transformer, arena: arena, window: WanAttentionWindow(frames: 40, sinkFrames: 1))
        ) { XCTAssertTrue("\($0)".contains("longer than the model's 32 rotary positions"), "\($0)") }
    }

    /// A keyframe's latent starts the video as clean frame 0 in the cache; the first chunk follows it, and a start
    /// after the first chunk is refused.
    func testAStartPictureIsTheFirstCleanFrame() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let text = try Tensor(fixture("wan-causal/expected.safetensors").floats("text"), shape: [1, 12, 32], on: device)
        let causal = try WanCausalTransformer(transformer: transformer, arena: arena)
        let start = try fixture("wan-causal/expected.safetensors").floats("latents")[0..<(8 * 4 * 6)]
        let loop = try WanAutoregressiveLoop(causal: causal, text: text, frameShape: (8, 4, 6), seed: 1)
        let first = try loop.start(from: Array(start), frames: 1)
        XCTAssertEqual(first.latents, Array(start))
        XCTAssertEqual(loop.cache.keptFrames, 1)
        let chunk = try loop.next()
        XCTAssertEqual(chunk.startFrame, 1)
        XCTAssertEqual(loop.frames, 4)
        // Without the start picture the same noise gives another chunk: it saw the picture.
        let plain = try WanAutoregressiveLoop(causal: causal, text: text, frameShape: (8, 4, 6), seed: 1)
        XCTAssertNotEqual(try plain.next().latents, chunk.latents)
        XCTAssertThrowsError(try loop.start(from: Array(start), frames: 1)) {
            XCTAssertTrue("\($0)".contains("only before its first chunk"), "\($0)")
        }
    }

    /// A prompt switch re-caches the kept frames with the new prompt. Without a window, switching to the same prompt
    /// changes nothing (the re-cache rebuilds the cache it replaces); with one that has dropped frames, the re-cached
    /// recent frames no longer see the dropped ones, as in LongLive. Switching to another prompt changes the next
    /// chunk either way.
    func testAPromptSwitchRecachesTheKeptFrames() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let first = try Tensor(
            fixture("wan-causal/expected.safetensors").floats("text"), shape: [1, 12, 32], on: device)
        var random = TorchRandom(seed: 77)
        let second = try Tensor(random.normal(count: 12 * 32), shape: [1, 12, 32], on: device)
        let schedule = try CausalDenoisingSchedule(stepList: [1000, 500], shift: 5, warp: true)
        for window in [nil, try WanAttentionWindow(frames: 6, sinkFrames: 2)] {
            func loop() throws -> WanAutoregressiveLoop {
                try WanAutoregressiveLoop(
                    causal: WanCausalTransformer(transformer: transformer, arena: arena, window: window), text: first,
                    schedule: schedule, chunkFrames: 2, frameShape: (8, 4, 6), seed: 9)
            }
            let (plain, same, other) = (try loop(), try loop(), try loop())
            for _ in 0..<3 { _ = (try plain.next(), try same.next(), try other.next()) }
            try same.switchPrompt(to: first)
            try other.switchPrompt(to: second)
            XCTAssertEqual(same.cache.keptFrames, plain.cache.keptFrames)
            let expected = try plain.next().latents
            let unchanged = try same.next().latents
            let switched = try other.next().latents
            if window == nil {
                XCTAssertEqual(unchanged, expected)
            } else {
                XCTAssertLessThan(relativeL2(unchanged, expected), relativeL2(switched, expected))
            }
            XCTAssertGreaterThan(relativeL2(switched, expected), 1e-3, "window \(String(describing: window))")
            XCTAssertEqual(other.frames, 8)
        }
    }

    /// Latent frames `frames` of a [1, 8, 9, 4, 6] video.
    private func slice(_ video: [Float], _ frames: Range<Int>) -> [Float] {
        let plane = 4 * 6
        var result: [Float] = []
        for channel in 0..<8 {
            let start = (channel * 9 + frames.lowerBound) * plane
            result += video[start..<(start + frames.count * plane)]
        }
        return result
    }
}
