import Foundation
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `WanAutoregressiveLoop.resume`: a fresh loop put where a stopped one stood, from its finished chunks' latents, makes
/// the next chunk the stopped loop would have made, bit for bit: with and without a start picture, an attention
/// window that has dropped frames, and a prompt switch before, at and after the chunk it resumes at.
final class WanAutoregressiveLoopResumeTests: ModelTestCase {
    func testAResumedLoopMakesTheNextChunkOfTheUninterruptedOneBitForBit() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let first = try Tensor(
            fixture("wan-causal/expected.safetensors").floats("text"), shape: [1, 12, 32], on: device)
        var random = TorchRandom(seed: 77)
        let second = try Tensor(random.normal(count: 12 * 32), shape: [1, 12, 32], on: device)
        let start = Array(try fixture("wan-causal/expected.safetensors").floats("latents")[0..<(8 * 4 * 6)])
        let schedule = try CausalDenoisingSchedule(stepList: [1000, 500], shift: 5, warp: true)
        let (chunks, switchAt) = (5, 3)
        for window in [nil, try WanAttentionWindow(frames: 6, sinkFrames: 2)] {
            for picture in [nil, start] {
                func loop(_ text: Tensor) throws -> WanAutoregressiveLoop {
                    try WanAutoregressiveLoop(
                        causal: WanCausalTransformer(transformer: transformer, arena: arena, window: window),
                        text: text, schedule: schedule, chunkFrames: 2, frameShape: (8, 4, 6), seed: 9)
                }
                let whole = try loop(first)
                if let picture { _ = try whole.start(from: picture, frames: 1) }
                var made: [[Float]] = []
                for index in 0..<chunks {
                    if index == switchAt { try whole.switchPrompt(to: second) }
                    made.append(try whole.next().latents)
                }
                let label = "window \(window?.frames ?? 0), start picture \(picture != nil)"
                for stopped in 1..<chunks {
                    let promptFrom = stopped >= switchAt ? switchAt : 0
                    let resumed = try loop(stopped >= switchAt ? second : first)
                    try resumed.resume(start: picture, chunks: stopped, promptFrom: promptFrom) { made[$0] }
                    XCTAssertEqual(try resumed.next().latents, made[stopped], "\(label), resumed after \(stopped)")
                    XCTAssertEqual(resumed.frames, (picture == nil ? 0 : 1) + 2 * (stopped + 1))
                }
                // Resuming with the prompt before the switch misses the switch: another chunk.
                let unswitched = try loop(first)
                try unswitched.resume(start: picture, chunks: 4, promptFrom: 0) { made[$0] }
                XCTAssertNotEqual(try unswitched.next().latents, made[4], label)
            }
        }
    }

    func testOnlyAFreshLoopResumes() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let text = try Tensor(
            fixture("wan-causal/expected.safetensors").floats("text"), shape: [1, 12, 32], on: device)
        let loop = try WanAutoregressiveLoop(
            causal: WanCausalTransformer(transformer: transformer, arena: arena), text: text, chunkFrames: 1,
            frameShape: (8, 4, 6), seed: 1)
        let chunk = try loop.next().latents
        XCTAssertThrowsError(try loop.resume(start: nil, chunks: 1, promptFrom: 0) { _ in chunk }) {
            XCTAssertTrue("\($0)".contains("resumes only fresh"), "\($0)")
        }
        let fresh = try WanAutoregressiveLoop(
            causal: WanCausalTransformer(transformer: transformer, arena: arena), text: text, chunkFrames: 1,
            frameShape: (8, 4, 6), seed: 1)
        XCTAssertThrowsError(try fresh.resume(start: nil, chunks: 1, promptFrom: 0) { _ in [1, 2] }) {
            XCTAssertTrue("\($0)".contains("2 values for 1 finished latent frames"), "\($0)")
        }
    }
}
