import Foundation
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The autoregressive Wan's memory plan (`WanStreamPlanner`) against the allocator: the tiny Wan 2.1
/// (`Tests/Fixtures/wan-pipeline/t2v`) streamed chunk by chunk (`WanStreamRunner`, Self-Forcing's loop with the
/// decode after each chunk) peaks where the plan says, with every frame cached and with a rolling window whose sink
/// cuts the cache's pieces; with a window the plan is the same for 10 seconds and for 10 minutes.
final class WanStreamPlanTests: ModelTestCase {
    private func tiny() throws -> WanStageComponents {
        try WanStageComponents(folder: fixtureURL("wan-pipeline/t2v"))
    }

    private func assertTheStreamPeaksAsPlanned(
        _ request: WanStreamRequest, chunks: Int, file: StaticString = #filePath, line: UInt = #line
    ) throws -> (WanStreamPlan, WanStreamRunner.Measurement) {
        let components = try tiny()
        let plan = try WanStreamPlanner.plan(components, request, budget: .max, device: device)
        let measured = try WanStreamRunner(components: components, plan: plan, device: device).run(chunks: chunks)
        XCTAssertGreaterThan(measured.measuredPeakBytes, 0, file: file, line: line)
        XCTAssertEqual(
            measured.measuredPeakBytes, measured.predictedPeakBytes,
            "\(plan.stream.tactic), peak at "
                + plan.stream.peakPass, file: file, line: line)
        print(
            "tiny Wan stream \(request.width)x\(request.height), \(chunks) chunks (\(plan.stream.tactic)): "
                + "planned \(plan.stream.peakBytes) at the \(plan.stream.peakPass), measured "
                + "\(measured.measuredPeakBytes); cache \(plan.stream.kvCacheBytes) bytes of "
                + "\(plan.stream.kvCacheFrames) frames")
        return (plan, measured)
    }

    func testEveryFrameCachedPeaksAsPlanned() throws {
        let request = WanStreamRequest(
            width: 64, height: 64, latentFrames: 6, chunkFrames: 2, cacheType: .f32, promptTokens: 12)
        let (plan, measured) = try assertTheStreamPeaksAsPlanned(request, chunks: 3)
        // Before the last chunk the cache holds the first two: 4 frames of 16 patches, 40 wide, in 2 blocks.
        XCTAssertEqual(plan.stream.kvCacheFrames, 4)
        XCTAssertEqual(measured.videoFrames, 1 + 4 * 5)
        XCTAssertEqual(measured.kvCacheBytes, UInt64(2 * 2 * 6 * 16 * 40 * 4))
    }

    /// A window of 6 latent frames with a sink of 1 and chunks of 2 after a start picture: the window cuts pieces,
    /// and a prompt switch re-caches what it keeps.
    func testARollingWindowWithASwitchPeaksAsPlanned() throws {
        let request = WanStreamRequest(
            width: 64, height: 64, latentFrames: 11, chunkFrames: 2, windowFrames: 6, sinkFrames: 1, cacheType: .f16,
            promptTokens: 12, prompts: 2, startPicture: true)
        let (plan, _) = try assertTheStreamPeaksAsPlanned(request, chunks: 5)
        XCTAssertEqual(plan.stream.kvCacheFrames, 4)
        XCTAssertNotNil(plan.keyframeEncode)
    }

    /// Each pass the stream plan adds up — a denoising pass over a cache, and the pass that adds a chunk while the
    /// window cuts a piece — peaks where `plannedPass` says, above what is live before it.
    func testThePassesPeakAsPlanned() throws {
        let transformer = try WanTransformer3DModel(folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let causal = try WanCausalTransformer(
            transformer: transformer, arena: ActivationArena(device: device), cacheType: .bf16,
            window: WanAttentionWindow(frames: 6, sinkFrames: 1))
        var random = TorchRandom(seed: 9)
        let text = try causal.textKeyValues(Tensor(random.normal(count: 12 * 32), shape: [1, 12, 32], on: device))
        func chunk() throws -> Tensor {
            try Tensor(random.normal(count: 8 * 2 * 8 * 8), shape: [1, 8, 2, 8, 8], on: device)
        }
        var cache = WanKVCache()
        for _ in 0..<2 { cache = try causal.extend(cache, with: chunk(), text: text) }
        XCTAssertEqual(cache.pieceFrames, [2, 2])
        let memory = device.memory
        for keep in [false, true] {
            let input = try chunk()
            let planned = try causal.plannedPass(
                chunkFrames: 2, height: 8, width: 8, pieceFrames: cache.pieceFrames, textTokens: 12, keep: keep)
            memory.trim()
            let before = memory.liveBytes
            memory.resetPeak()
            if keep {
                let grown = try causal.extend(cache, with: input, text: text)
                XCTAssertEqual(grown.pieceFrames, [1, 1, 2], "the window cuts both old pieces")
            } else {
                _ = try causal.predict(input, timesteps: [500, 500], text: text, cache: cache)
            }
            XCTAssertEqual(
                memory.peakBytes - before, planned.recordedBytes + planned.plan.allocatedPeakBytes, "keep \(keep)")
        }
    }

    /// With a window the stream's plan does not grow with its length; without one the cache does.
    func testAWindowedPlanIsTheSameForAnyLength() throws {
        let components = try tiny()
        func plan(_ frames: Int, window: Int?) throws -> WanStreamPlan {
            try WanStreamPlanner.plan(
                components,
                WanStreamRequest(
                    width: 64, height: 64, latentFrames: frames, chunkFrames: 3, windowFrames: window, sinkFrames: 3),
                budget: .max, device: device)
        }
        let short = try plan(30, window: 12)
        let long = try plan(3000, window: 12)
        XCTAssertEqual(short.stream, long.stream)
        XCTAssertEqual(short.stream.kvCacheFrames, 9)
        let unbounded = try plan(30, window: nil)
        XCTAssertEqual(unbounded.stream.kvCacheFrames, 27)
        XCTAssertGreaterThan(unbounded.stream.peakBytes, short.stream.peakBytes)
    }

    func testStreamsTheModelCannotMakeAreRefusedBeforeAnyWork() throws {
        let components = try tiny()
        let cases: [(WanStreamRequest, String)] = [
            (WanStreamRequest(width: 64, height: 64, latentFrames: 7, chunkFrames: 3), "not whole chunks of 3"),
            (WanStreamRequest(width: 64, height: 64, latentFrames: 60, chunkFrames: 3), "past the model's 32 rotary"),
            (
                WanStreamRequest(width: 64, height: 64, latentFrames: 60, chunkFrames: 3, windowFrames: 40),
                "at most the model's 32 rotary positions"
            ),
            (
                WanStreamRequest(width: 64, height: 64, latentFrames: 60, chunkFrames: 3, windowFrames: 3),
                "must hold more than a chunk of 3"
            ),
            (WanStreamRequest(width: 60, height: 64, latentFrames: 6, chunkFrames: 3), "60"),
        ]
        for (request, message) in cases {
            XCTAssertThrowsError(try WanStreamPlanner.plan(components, request, budget: .max, device: device)) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
    }
}
