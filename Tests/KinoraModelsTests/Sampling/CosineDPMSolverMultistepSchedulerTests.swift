import Foundation
import KinoraFormats
import XCTest

@testable import KinoraModels

/// `CosineDPMSolverMultistepScheduler` (Stable Audio Open 1.0's sampler) against diffusers 0.42.1 run through whole
/// sampling loops (`scripts/fixtures/make_cosine_dpmsolver_fixtures.py`): the schedule, and every sample of a loop
/// whose "model" is `0.5·x + 0.2·t` of the scaled input, with the SDE noise drawn from the same seeded torch
/// generator as the initial latents — exponential and Karras σ, midpoint and Heun, order 1 and 2, final σ zero and
/// σ_min.
final class CosineDPMSolverMultistepSchedulerTests: XCTestCase {
    private let shape = [2, 4, 16]

    private func fixture() throws -> SafetensorsFile {
        try SafetensorsFile(url: SamplingFixture.folder.appending(path: "cosine_dpmsolver.safetensors"))
    }

    func testWholeLoopsMatchDiffusersGivenTheSameNoise() throws {
        let file = try fixture()
        let cases: [(String, Int, (inout SchedulerConfiguration) -> Void)] = [
            ("exp8", 8, { _ in }),
            ("exp3", 3, { _ in }),
            (
                "karras6", 6,
                {
                    $0.sigmaSchedule = "karras"
                    $0.solverType = "heun"
                }
            ),
            (
                "sigmin5", 5,
                {
                    $0.finalSigmasType = "sigma_min"
                    $0.solverOrder = 1
                }
            ),
        ]
        for (name, steps, configure) in cases {
            var configuration = SchedulerConfiguration()
            configure(&configuration)
            var sampler = try CosineDPMSolverMultistepScheduler(configuration: configuration, steps: steps)
            let timesteps = try file.floats("\(name).timesteps")
            XCTAssertLessThanOrEqual(samplingRelativeError(sampler.timesteps, timesteps), 1e-6, name)
            let sigmas = try file.floats("\(name).sigmas")
            XCTAssertLessThanOrEqual(samplingRelativeError(sampler.sigmas, sigmas), 1e-6, name)
            XCTAssertEqual(sampler.initNoiseSigma, try file.floats("\(name).init_noise_sigma")[0], name)

            var random = TorchRandom(seed: 1234)
            let count = shape.reduce(1, *)
            var latents = sampler.initialLatents(&random, count: count)
            let expected = try file.floats("\(name).samples")
            var worst = 0.0
            var index = 0
            while let t = sampler.currentTimestep {
                let output = sampler.scaleModelInput(latents).map { 0.5 * $0 + 0.2 * t }
                latents = try sampler.step(output, sample: latents, noise: &random).sample
                let error = samplingRelativeError(latents, Array(expected[(index * count)..<((index + 1) * count)]))
                worst = max(worst, error)
                index += 1
            }
            XCTAssertEqual(index, steps)
            XCTAssertLessThanOrEqual(worst, 1e-5, name)
            print("CosineDPMSolverMultistepScheduler \(name): worst step relative L2 \(worst) against diffusers")
        }
    }

    func testOptionsItCannotHonourAreRefused() {
        let cases: [((inout SchedulerConfiguration) -> Void, String)] = [
            ({ $0.sigmaSchedule = "linear" }, "sigma_schedule linear"),
            ({ $0.solverOrder = 3 }, "solver_order 3"),
            ({ $0.predictionType = .sample }, "prediction_type sample"),
            ({ $0.sigmaMin = 0 }, "sigma_min 0.0"),
            ({ $0.finalSigmasType = "one" }, "final_sigmas_type one"),
        ]
        for (configure, message) in cases {
            var configuration = SchedulerConfiguration()
            configure(&configuration)
            XCTAssertThrowsError(try CosineDPMSolverMultistepScheduler(configuration: configuration, steps: 8)) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
    }
}
