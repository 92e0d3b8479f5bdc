import Foundation
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The causal, KV-cached Wan on the tiny transformer of `Tests/Fixtures/wan-pipeline/t2v` (patch (1, 2, 2), 2 heads
/// of 20, 2 layers, 8 channels): chunk by chunk with the cache equals one pass over the whole video with the
/// block-causal mask, the cache grows by a chunk's tokens per layer, and what does not fit is refused.
final class WanCausalTransformerTests: ModelTestCase {
    /// Six latent frames of 4x6 (6 patches a frame), in chunks of two.
    private let (frames, height, width, chunkFrames) = (6, 4, 6, 2)

    private func causal() throws -> WanCausalTransformer {
        try WanCausalTransformer(
            transformer: try WanTransformer3DModel(folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device),
            arena: arena)
    }

    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var random = TorchRandom(seed: seed)
        return random.normal(count: count)
    }

    /// Latent frames `range` of a [1, C, F, H, W] video.
    private func frames(_ video: [Float], _ range: Range<Int>, channels: Int) -> [Float] {
        latentFrames(video, range, channels: channels, frames: frames, height: height, width: width)
    }

    func testChunksWithTheCacheEqualOneBlockCausalPassOverTheWholeVideo() throws {
        let causal = try causal()
        let channels = causal.transformer.configuration.inChannels
        let video = values(channels * frames * height * width, seed: 3)
        let text = try Tensor(values(12 * 32, seed: 4), shape: [1, 12, 32], on: device)
        func tensor(_ range: Range<Int>) throws -> Tensor {
            try Tensor(
                frames(video, range, channels: channels), shape: [1, channels, range.count, height, width],
                on: device)
        }
        // The finished chunks at t = 0, the last one noisy at t = 700.
        let timesteps: [Float] = [0, 0, 0, 0, 700, 700]
        let whole = try causal.predictWhole(
            tensor(0..<frames), timesteps: timesteps, text: text, chunkFrames: chunkFrames
        ).floats()

        var cache = WanKVCache()
        var chunked: [Float] = []
        for start in stride(from: 0, to: frames, by: chunkFrames) {
            let range = start..<(start + chunkFrames)
            let prediction = try causal.predict(
                tensor(range), timesteps: Array(timesteps[range]), text: text, cache: cache)
            chunked += try prediction.floats()
            XCTAssertEqual(cache.frames, start)
            cache = try causal.extend(cache, with: tensor(range), text: text, timestep: timesteps[range.lowerBound])
        }
        let out = causal.transformer.configuration.outChannels
        for start in stride(from: 0, to: frames, by: chunkFrames) {
            let range = start..<(start + chunkFrames)
            let chunk = Array(chunked[(start * out * height * width)..<((start + chunkFrames) * out * height * width)])
            let error = relativeL2(chunk, frames(whole, range, channels: out))
            XCTAssertLessThanOrEqual(error, 1e-5, "frames \(range)")
            print("causal Wan, frames \(range) with the KV cache vs one block-causal pass: relative L2 \(error)")
        }
        XCTAssertEqual(cache.frames, frames)
        // One piece per chunk, in every block: adding a chunk never copies the frames before it.
        let pieces = [[Int]](repeating: [1, 12, 40], count: 3)
        XCTAssertEqual(cache.keys.map { $0.map(\.shape) }, [pieces, pieces])
        XCTAssertEqual(cache.values.map { $0.map(\.shape) }, [pieces, pieces])
        XCTAssertEqual(cache.pieceFrames, [2, 2, 2])
        XCTAssertEqual(cache.bytes, 2 * 2 * 36 * 40 * 4)

        // The mask matters: without it the first chunk sees the later frames.
        let graph = makeGraph()
        let unmasked = try causal.transformer.recordCausal(
            graph, hiddenStates: graph.input(tensor(0..<frames)), frameTimesteps: timesteps,
            encoderHiddenStates: graph.input(text), prefix: [])
        let open = try graph.run([unmasked.prediction])[0].floats()
        XCTAssertGreaterThan(relativeL2(frames(open, 0..<2, channels: out), frames(whole, 0..<2, channels: out)), 1e-3)
    }

    /// The whole-video pass against diffusers' `WanTransformer3DModel` with a block-causal self-attention mask and
    /// per-frame timesteps (`scripts/fixtures/make_wan_causal_fixtures.py`), and the chunked generation against both.
    func testTheBlockCausalPassMatchesDiffusersWithTheMask() throws {
        let causal = try causal()
        let expected = try fixture("wan-causal/expected.safetensors")
        let latents = try expected.floats("latents")
        let channels = causal.transformer.configuration.inChannels
        let text = try Tensor(expected.floats("text"), shape: [1, 12, 32], on: device)
        let timesteps = try expected.floats("timesteps")
        let reference = try expected.floats("prediction")
        let whole = try causal.predictWhole(
            Tensor(latents, shape: [1, channels, frames, height, width], on: device), timesteps: timesteps, text: text,
            chunkFrames: chunkFrames
        ).floats()
        let error = relativeL2(whole, reference)
        XCTAssertLessThanOrEqual(error, 1e-4)
        print("causal Wan, block-causal pass vs diffusers with the mask: relative L2 \(error)")

        var cache = WanKVCache()
        let out = causal.transformer.configuration.outChannels
        for start in stride(from: 0, to: frames, by: chunkFrames) {
            let range = start..<(start + chunkFrames)
            let chunk = try Tensor(
                frames(latents, range, channels: channels), shape: [1, channels, chunkFrames, height, width],
                on: device)
            let prediction = try causal.predict(
                chunk, timesteps: Array(timesteps[range]), text: text, cache: cache
            ).floats()
            XCTAssertLessThanOrEqual(
                relativeL2(prediction, frames(reference, range, channels: out)), 1e-4, "frames \(range)")
            cache = try causal.extend(cache, with: chunk, text: text)
        }
    }

    /// A half-precision cache takes half the bytes and changes the prediction by its rounding only.
    func testAHalfPrecisionCacheHalvesItsBytes() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let text = try Tensor(values(12 * 32, seed: 4), shape: [1, 12, 32], on: device)
        let chunks = try (0..<3).map {
            try Tensor(values(8 * 2 * 4 * 6, seed: 10 + UInt64($0)), shape: [1, 8, 2, 4, 6], on: device)
        }
        var results: [DType: (prediction: [Float], bytes: Int)] = [:]
        for type in [DType.f32, .f16, .bf16] {
            let causal = try WanCausalTransformer(transformer: transformer, arena: arena, cacheType: type)
            var cache = WanKVCache()
            for chunk in chunks.dropLast() { cache = try causal.extend(cache, with: chunk, text: text) }
            XCTAssertEqual(cache.keys.map { $0.map(\.dtype) }, [[type, type], [type, type]])
            let prediction = try causal.predict(chunks[2], timesteps: [500, 500], text: text, cache: cache).floats()
            results[type] = (prediction, cache.bytes)
        }
        let full = try XCTUnwrap(results[.f32])
        for type in [DType.f16, .bf16] {
            let half = try XCTUnwrap(results[type])
            XCTAssertEqual(half.bytes * 2, full.bytes)
            let error = relativeL2(half.prediction, full.prediction)
            XCTAssertGreaterThan(error, 0, "\(type)")
            XCTAssertLessThanOrEqual(error, type == .f16 ? 5e-4 : 4e-3, "\(type)")
            print("causal Wan, \(type) KV cache vs f32: relative L2 \(error)")
        }
        let f16 = try WanCausalTransformer(transformer: transformer, arena: arena, cacheType: .f16)
        let f32Cache = try WanCausalTransformer(transformer: transformer, arena: arena).extend(
            WanKVCache(), with: chunks[0], text: text)
        XCTAssertThrowsError(try f16.predict(chunks[1], timesteps: [1, 1], text: text, cache: f32Cache)) {
            XCTAssertTrue("\($0)".contains("a cache of f32 for a transformer that keeps f16"), "\($0)")
        }
    }

    /// The prompt's cross-attention keys and values computed once give the passes that compute them every time.
    func testThePromptsKeysAndValuesComputedOnceGiveTheSamePasses() throws {
        let causal = try causal()
        let text = try Tensor(values(12 * 32, seed: 4), shape: [1, 12, 32], on: device)
        let chunks = try (0..<2).map {
            try Tensor(values(8 * 2 * 4 * 6, seed: 20 + UInt64($0)), shape: [1, 8, 2, 4, 6], on: device)
        }
        let once = try causal.textKeyValues(text)
        XCTAssertEqual(once.keys.map(\.shape), [[1, 12, 40], [1, 12, 40]])
        XCTAssertEqual(once.bytes, 2 * 2 * 12 * 40 * 4)
        let cache = try causal.extend(WanKVCache(), with: chunks[0], text: text)
        let cached = try causal.extend(WanKVCache(), with: chunks[0], text: once)
        XCTAssertEqual(try cached.keys[1][0].floats(), try cache.keys[1][0].floats())
        let every = try causal.predict(chunks[1], timesteps: [400, 400], text: text, cache: cache).floats()
        let reused = try causal.predict(chunks[1], timesteps: [400, 400], text: once, cache: cached).floats()
        XCTAssertLessThanOrEqual(relativeL2(reused, every), 1e-6)
    }

    /// A window that does not fall on chunk boundaries (a sink of 1 frame, chunks of 2) cuts a piece: the cache keeps
    /// exactly the sink's and the most recent frames of what it would hold without the window, piece by piece.
    func testAWindowKeepsTheSinkAndTheRecentFramesAcrossPieces() throws {
        let transformer = try WanTransformer3DModel(folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let unbounded = try WanCausalTransformer(transformer: transformer, arena: arena, cacheType: .f16)
        let windowed = try WanCausalTransformer(
            transformer: transformer, arena: arena, cacheType: .f16,
            window: WanAttentionWindow(frames: 6, sinkFrames: 1))
        XCTAssertEqual(
            windowed.keptPieces([2, 2, 2], chunkFrames: 2).map {
                [$0.piece, $0.frames.lowerBound, $0.frames.upperBound]
            },
            [[0, 0, 1], [1, 1, 2], [2, 0, 2]])
        XCTAssertEqual(unbounded.keptPieces([2, 2, 2], chunkFrames: 2).map(\.frames.count), [2, 2, 2])
        let text = try Tensor(values(12 * 32, seed: 4), shape: [1, 12, 32], on: device)
        var cache = WanKVCache()
        for index in 0..<2 {
            let chunk = try Tensor(values(8 * 2 * 4 * 6, seed: 30 + UInt64(index)), shape: [1, 8, 2, 4, 6], on: device)
            cache = try unbounded.extend(cache, with: chunk, text: text)
        }
        let last = try Tensor(values(8 * 2 * 4 * 6, seed: 40), shape: [1, 8, 2, 4, 6], on: device)
        // The same pass; the window then drops frames 1 and 2 (a sink of 1, 3 recent frames left for the next chunk).
        let before = device.memory.liveBytes
        let all = try unbounded.extend(cache, with: last, text: text)
        // Growing the cache allocates the new chunk's keys and values only: the cached pieces are not copied.
        XCTAssertEqual(device.memory.liveBytes - before, 4 * device.memory.allocationSize(for: UInt64(12 * 40 * 2)))
        let kept = try windowed.extend(cache, with: last, text: text)
        XCTAssertEqual(kept.pieceFrames, [1, 1, 2])
        XCTAssertEqual(kept.keptFrames, 4)
        XCTAssertEqual(kept.frames, 6)
        let row = 6 * 40
        for layer in 0..<2 {
            for (name, full, windowedPieces) in [
                ("keys", all.keys[layer], kept.keys[layer]), ("values", all.values[layer], kept.values[layer]),
            ] {
                let every = try full.flatMap { try $0.floats() }
                let expected = Array(every[0..<row]) + Array(every[(3 * row)...])
                XCTAssertEqual(try windowedPieces.flatMap { try $0.floats() }, expected, "block \(layer) \(name)")
            }
        }

    }

    func testWhatDoesNotFitTheCacheOrTheModelIsRefused() throws {
        let causal = try causal()
        let text = try Tensor(values(12 * 32, seed: 4), shape: [1, 12, 32], on: device)
        let chunk = try Tensor(values(8 * 2 * 4 * 6, seed: 5), shape: [1, 8, 2, 4, 6], on: device)
        let cache = try causal.extend(WanKVCache(), with: chunk, text: text)
        let wider = try Tensor(values(8 * 2 * 4 * 8, seed: 6), shape: [1, 8, 2, 4, 8], on: device)
        let cases: [(() throws -> Any, String)] = [
            ({ try causal.predict(wider, timesteps: [1, 1], text: text, cache: cache) }, "continues a cache of 6"),
            (
                { try causal.predict(chunk, timesteps: [1], text: text, cache: cache) },
                "1 timesteps for 2 latent frames"
            ),
        ]
        for (call, message) in cases {
            XCTAssertThrowsError(try call()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
        // The tiny model's rotary table holds 32 frames.
        var long = cache
        let filler = try Tensor([Float](repeating: 0, count: 31 * 6 * 40), shape: [1, 31 * 6, 40], on: device)
        (long.keys, long.values, long.pieceFrames, long.frames) = (
            [[filler], [filler]], [[filler], [filler]], [31], 31
        )
        XCTAssertThrowsError(try causal.predict(chunk, timesteps: [1, 1], text: text, cache: long)) {
            XCTAssertTrue("\($0)".contains("frames 31..<33 lie past the rotary table's 32 positions"), "\($0)")
        }
    }
}
