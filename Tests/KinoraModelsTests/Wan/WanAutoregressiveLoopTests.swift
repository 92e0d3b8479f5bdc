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
        let causal = WanCausalTransformer(transformer: transformer, arena: arena)
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
