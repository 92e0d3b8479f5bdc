import Foundation
import KinoraModels
import XCTest

final class SamplerTrajectoryTests: XCTestCase {
    /// Relative L2 tolerance of a whole trajectory against diffusers (float32 host arithmetic on both sides).
    let tolerance = 1e-5

    func testSamplerTrajectoriesMatchDiffusersForEveryScheduler() throws {
        let (fixture, tensors) = try SamplingFixture.load()
        XCTAssertGreaterThanOrEqual(fixture.trajectories.count, 20)
        var worst = 0.0
        for trajectory in fixture.trajectories {
            let label = "\(trajectory.key) (\(trajectory.config.timestepSpacing?.rawValue ?? "default"))"
            var sampler = try SamplingFixture.makeSampler(trajectory.sampler, trajectory.config,
                                                          steps: trajectory.steps)
            XCTAssertEqual(sampler.timesteps, trajectory.timesteps.map { Float($0) }, label)
            var random = TorchRandom(seed: trajectory.seed)
            var latents = sampler.initialLatents(&random, count: trajectory.shape.reduce(1, *))
            XCTAssertEqual(latents, try tensors.floats("\(trajectory.key).initial"), "initial latents of \(label)")
            var step = 0
            while let t = sampler.currentTimestep {
                let output = SamplingFixture.model(sampler.scaleModelInput(latents), timestep: t)
                latents = try sampler.step(output, sample: latents, noise: &random).sample
                let error = samplingRelativeError(latents, try tensors.floats("\(trajectory.key).\(step)"))
                worst = max(worst, error)
                XCTAssertLessThanOrEqual(error, tolerance, "\(label) step \(step)")
                step += 1
            }
            XCTAssertEqual(step, trajectory.count, label)
        }
        print("sampler trajectories: worst relative L2 error \(worst)")
    }

    func testSamplerImageToImageStartsWhereDiffusersDoes() throws {
        let (fixture, tensors) = try SamplingFixture.load()
        XCTAssertGreaterThanOrEqual(fixture.img2img.count, 18)
        var worst = 0.0
        for imageCase in fixture.img2img {
            let label = "\(imageCase.key)"
            var sampler = try SamplingFixture.makeSampler(imageCase.sampler, imageCase.config, steps: imageCase.steps)
            let original = try tensors.floats("\(imageCase.key).original")
            let noise = try tensors.floats("\(imageCase.key).noise")
            var latents = try sampler.startImageToImage(original: original, noise: noise, strength: imageCase.strength)
            XCTAssertEqual(sampler.stepIndex, imageCase.tStart * sampler.order, label)
            XCTAssertEqual(Array(sampler.timesteps[sampler.stepIndex...]), imageCase.timesteps.map { Float($0) }, label)
            let noisedError = samplingRelativeError(latents, try tensors.floats("\(imageCase.key).noised"))
            XCTAssertLessThanOrEqual(noisedError, 1e-7, "add_noise of \(label)")
            var random = TorchRandom(seed: 7)
            _ = random.normal(count: noise.count)
            while let t = sampler.currentTimestep {
                let output = SamplingFixture.model(sampler.scaleModelInput(latents), timestep: t)
                latents = try sampler.step(output, sample: latents, noise: &random).sample
            }
            let error = samplingRelativeError(latents, try tensors.floats("\(imageCase.key).final"))
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(error, tolerance, "final sample of \(label)")
        }
        print("sampler img2img: worst relative L2 error \(worst)")
    }

    func testSamplerClassifierFreeGuidanceMatchesThePipelines() throws {
        let (fixture, tensors) = try SamplingFixture.load()
        for guidance in fixture.cfg {
            let inputs = try guidance.keys.map { try tensors.floats($0) }
            let guided = classifierFreeGuidance(unconditional: inputs[0], conditional: inputs[1], scale: guidance.scale)
            XCTAssertEqual(guided, inputs[2])
        }
    }

    func testSamplerStepAfterTheLastTimestepThrows() throws {
        var sampler = try EulerDiscreteScheduler(configuration: SchedulerConfiguration(), steps: 1)
        var random = TorchRandom(seed: 0)
        let sample = [Float](repeating: 1, count: 4)
        _ = try sampler.step(sample, sample: sample, noise: &random)
        XCTAssertNil(sampler.currentTimestep)
        XCTAssertThrowsError(try sampler.step(sample, sample: sample, noise: &random))
    }
}
