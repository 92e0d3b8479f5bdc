import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The streamed decode (one latent frame per call, diffusers' feature cache carried on the device) and the streamed
/// encode (the first frame, then 4 per call) against the whole-clip graphs and diffusers, and their memory: flat
/// for any length, and as `Graph.memoryPlan` predicts.
final class AutoencoderKLWanStreamingTests: ModelTestCase {
    /// Decodes the fixture's latents one frame per call, returning each call's frames.
    private func streamedDecode(
        _ vae: AutoencoderKLWan, _ fixture: AutoencoderKLWanFixture, frames: Int,
        arena: ActivationArena? = nil
    ) throws -> [[Float]] {
        let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena ?? self.arena)
        return try (0..<frames).map { index in
            let output = try decoder.decode(fixture.latents(index..<(index + 1), on: device))
            XCTAssertEqual(output.shape[2], index == 0 ? 1 : 4, "frames of call \(index)")
            XCTAssertEqual(decoder.latentFramesDecoded, index + 1)
            return try output.floats()
        }
    }

    /// The whole-clip graph's frames `range` of a decoded [1, 3, F, H, W] video.
    private func frames(_ video: [Float], shape: [Int], _ range: Range<Int>) -> [Float] {
        AutoencoderKLWanFixture.frames(video, shape: shape, range)
    }

    func testStreamedDecodeEqualsTheWholeDecodeAndDiffusersForBothVersions() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let vae = try fixture.model(self)
            let graph = makeGraph()
            let whole = try graph.run([vae.decode(graph, graph.input(fixture.tensor("latents", on: device)))])[0]
            let wholeValues = try whole.floats()
            let streamed = try streamedDecode(vae, fixture, frames: 3)
            let expected = try fixture.values("decoded")
            var start = 0
            for (index, chunk) in streamed.enumerated() {
                let count = index == 0 ? 1 : 4
                let reference = frames(wholeValues, shape: whole.shape, start..<(start + count))
                let difference = zip(chunk, reference).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(difference, 1e-6, "\(name) call \(index) against the whole decode")
                print("\(name) streamed call \(index): max |streamed − whole| \(difference)")
                start += count
            }
            let streamedVideo = try interleaveCalls(streamed, shape: whole.shape)
            assertClose(streamedVideo, expected, tolerance: AutoencoderKLWanTests.fp32Tolerance, "\(name) streamed")
            print("\(name) streamed decode against diffusers: relative L2 \(relativeL2(streamedVideo, expected))")
        }
    }

    /// The calls' [1, 3, f, H, W] outputs joined along time into the clip's [1, 3, F, H, W] layout.
    private func interleaveCalls(_ calls: [[Float]], shape: [Int]) throws -> [Float] {
        let plane = shape[3] * shape[4]
        let counts = calls.map { $0.count / (shape[1] * plane) }
        var video: [Float] = []
        for channel in 0..<shape[1] {
            for (call, count) in zip(calls, counts) {
                video += call[(channel * count * plane)..<((channel + 1) * count * plane)]
            }
        }
        return video
    }

    func testStreamedEncodeEqualsTheWholeEncodeAndDiffusers() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let vae = try fixture.model(self)
            let video = try fixture.video(on: device)
            let videoValues = try video.floats()
            let encoder = WanVAEStreamingEncoder(vae: vae, arena: arena)
            var means: [[Float]] = []
            for (index, range) in [0..<1, 1..<5, 5..<9].enumerated() {
                let chunk = try fixture.frames(videoValues, shape: video.shape, range, on: device)
                let (mean, _) = try encoder.encode(chunk)
                XCTAssertEqual(mean.shape[2], 1)
                XCTAssertEqual(encoder.latentFramesEncoded, index + 1)
                means.append(try mean.floats())
            }
            let expectedShape = try fixture.shape("mean")
            let streamed = try interleaveCalls(means, shape: expectedShape)
            let graph = makeGraph()
            let whole = try graph.run([vae.encode(graph, graph.input(video)).mean])[0].floats()
            XCTAssertLessThan(relativeL2(streamed, whole), 1e-6, "\(name) streamed against whole")
            let expected = try fixture.values("mean")
            assertClose(streamed, expected, tolerance: AutoencoderKLWanTests.fp32Tolerance, "\(name) streamed mean")
            print(
                "\(name) streamed encode: mean relative L2 \(relativeL2(streamed, expected)) against diffusers, "
                    + "\(relativeL2(streamed, whole)) against the whole-clip graph")
        }
    }

    /// The device peak of a streamed decode is the same for 3 and 6 latent frames (every call after the second has
    /// the same shapes), and a steady call's growth is what `streamingDecodeMemory` plans.
    func testStreamedDecodeMemoryIsFlatAndAsPlanned() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let vae = try fixture.model(self)
        let memory = device.memory
        // Upload the weights and compile the pipelines once, so neither counts below.
        _ = try streamedDecode(vae, fixture, frames: 3, arena: ActivationArena(device: device))
        let latents = try fixture.values("latents")
        let shape = try fixture.shape("latents")
        var peaks: [UInt64] = []
        for length in [3, 6] {
            let arena = ActivationArena(device: device)
            let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena)
            memory.trim()
            let before = memory.liveBytes
            memory.resetPeak()
            for index in 0..<length {
                let frame = try fixture.frames(latents, shape: shape, (index % 3)..<(index % 3 + 1), on: device)
                _ = try decoder.decode(frame).floats()
            }
            peaks.append(memory.peakBytes - before)
        }
        XCTAssertEqual(peaks[0], peaks[1], "peak of 3 latent frames against 6")
        print("Wan 2.1 tiny streamed decode: device peak \(peaks[0]) bytes for 3 latent frames, \(peaks[1]) for 6")

        let plan = try vae.streamingDecodeMemory(latentHeight: shape[3], latentWidth: shape[4])
        let arena = ActivationArena(device: device)
        let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena)
        for index in 0..<2 {
            _ = try decoder.decode(fixture.frames(latents, shape: shape, index..<(index + 1), on: device))
        }
        XCTAssertEqual(UInt64(decoder.cacheBytes), plan.cacheBytes)
        XCTAssertEqual(plan.cacheShapes[0].count, decoder.caches[0].slots.count)
        let frame = try fixture.frames(latents, shape: shape, 2..<3, on: device)
        let before = memory.liveBytes
        memory.resetPeak()
        let cache = decoder.caches[0].slots.reduce(UInt64(0)) { total, slot in
            guard case .frames(let tensor) = slot else { return total }
            return total + memory.allocationSize(for: UInt64(tensor.byteCount))
        }
        let output = try decoder.decode(frame)
        // The plan counts the cache and the latents, which were live before the call, as the allocator holds them,
        // and the constants each step's graph makes (clamp bounds).
        let measured = memory.peakBytes - before + cache + memory.allocationSize(for: UInt64(frame.byteCount))
        XCTAssertEqual(output.shape[2], plan.outputFrames)
        XCTAssertEqual(measured, plan.peakBytes)
        XCTAssertEqual(
            memory.liveBytes, before + UInt64(output.byteCount),
            "the old cache is released as the new one is made")
        print(
            "Wan 2.1 tiny steady streamed call: measured \(measured) bytes, planned \(plan.peakBytes) (cache "
                + "\(plan.cacheBytes), at step \(plan.peakStep))")
    }

    /// An f16 cache halves the cache's bytes; the frames carried between calls are rounded to f16, which moves the
    /// output by about f16's rounding (measured 5.1e-4 for the Wan 2.1 fixture and 7.4e-4 for Wan 2.2's, relative
    /// L2 against diffusers on lavapipe), bounded here by 2e-3.
    func testF16CacheHalvesTheCacheWithinAStatedTolerance() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let vae = try fixture.model(self)
            let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena, cacheType: .f16)
            let f32 = WanVAEStreamingDecoder(vae: vae, arena: arena)
            var calls: [[Float]] = []
            for index in 0..<3 {
                let latents = try fixture.latents(index..<(index + 1), on: device)
                calls.append(try decoder.decode(latents).floats())
                _ = try f32.decode(latents)
            }
            XCTAssertEqual(decoder.cacheBytes * 2, f32.cacheBytes)
            XCTAssertTrue(
                decoder.caches[0].slots.allSatisfy { slot in
                    if case .frames(let tensor) = slot { return tensor.dtype == .f16 }
                    return false
                })
            let video = try interleaveCalls(calls, shape: try fixture.shape("decoded"))
            let expected = try fixture.values("decoded")
            let error = relativeL2(video, expected)
            XCTAssertLessThan(error, 2e-3, name)
            XCTAssertGreaterThan(error, 1e-6, "\(name): the f16 rounding shows")
            print("\(name) streamed decode with an f16 cache: relative L2 \(error) against diffusers")
        }
    }
}
