import Foundation
import KinoraFormats
import XCTest

@testable import KinoraModels

/// `PingPongFlowSampler` (Stable Audio Open Small's sampler) against stable-audio-tools' own `sample_rf(sampler_type=
/// "pingpong")` at commit 50049e3 run on random inputs (`scripts/fixtures/make_pingpong_fixtures.py`): the levels the
/// model sees and every sample, whose "model" is `tanh(x)·(0.5 + t) − 0.3·t`, the starting and per-step noise drawn
/// from the same seeded torch generator.
final class PingPongFlowSamplerTests: XCTestCase {
    func testWholeLoopsMatchStableAudioTools() throws {
        let file = try SafetensorsFile(url: SamplingFixture.folder.appending(path: "pingpong.safetensors"))
        for (name, shape, steps, seed) in [
            ("small8", [1, 4, 16], 8, UInt64(1234)), ("tiny3", [1, 3, 4], 3, 7), ("one1", [2, 4, 8], 1, 99),
        ] {
            var sampler = try PingPongFlowSampler(steps: steps)
            XCTAssertEqual(sampler.steps, steps, name)
            let levels = try file.floats("\(name).levels")
            XCTAssertLessThanOrEqual(samplingRelativeError(Array(sampler.levels.dropLast()), levels), 1e-6, name)
            XCTAssertEqual(sampler.levels.first, 1, name)
            XCTAssertEqual(sampler.levels.last, 0, name)
            var random = TorchRandom(seed: seed)
            let count = shape.reduce(1, *)
            var sample = sampler.initialLatents(&random, count: count)
            let expected = try file.floats("\(name).samples")
            var index = 0
            while let t = sampler.currentTimestep {
                let velocity = sample.map { tanhf($0) * (0.5 + t) - 0.3 * t }
                sample = sampler.step(velocity, sample: sample, noise: &random)
                let reference = Array(expected[(index * count)..<((index + 1) * count)])
                XCTAssertLessThanOrEqual(samplingRelativeError(sample, reference), 1e-5, "\(name) step \(index)")
                index += 1
            }
            XCTAssertEqual(index, steps, name)
        }
    }

    func testScheduleFollowsTheLogSNRRamp() throws {
        // sigmoid(−logsnr) over logsnr −6 … 2: decreasing, first level pinned to 1 and last to 0.
        let sampler = try PingPongFlowSampler(steps: 8)
        XCTAssertEqual(sampler.levels.count, 9)
        XCTAssertEqual(Double(sampler.levels[1]), 1 / (1 + exp(-6 + 1.0)), accuracy: 1e-6)
        XCTAssertTrue(zip(sampler.levels, sampler.levels.dropFirst()).allSatisfy { $0 > $1 })
        let partial = try PingPongFlowSampler(steps: 4, sigmaMax: 0.5)
        XCTAssertEqual(partial.levels[0], 0.5)
        XCTAssertThrowsError(try PingPongFlowSampler(steps: 0))
        XCTAssertThrowsError(try PingPongFlowSampler(steps: 4, sigmaMax: 1.5))
    }
}
