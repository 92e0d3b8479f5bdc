import Foundation
@testable import KinoraModels
import XCTest

final class SamplerScheduleTests: XCTestCase {
    func testSamplerTrainingScheduleMatchesDiffusersAlphasCumprodExactly() throws {
        let (_, tensors) = try SamplingFixture.load()
        var configuration = SchedulerConfiguration()
        configuration.betaSchedule = "scaled_linear"
        configuration.betaStart = 0.00085
        configuration.betaEnd = 0.012
        for (key, config) in [("alphas_cumprod.scaled_linear", configuration), ("alphas_cumprod.linear", .init())] {
            let schedule = try NoiseSchedule(config, scheduler: "test", betaStart: 0.0001, betaEnd: 0.02,
                                             betaSchedule: "linear")
            let expected = try tensors.floats(key)
            XCTAssertEqual(schedule.alphasCumprod.count, expected.count)
            let mismatches = zip(schedule.alphasCumprod, expected).filter { $0 != $1 }.count
            XCTAssertEqual(mismatches, 0, "\(key): \(mismatches) of \(expected.count) differ")
        }
    }

    func testSamplerTimestepsSigmasAndInitialNoiseMatchDiffusers() throws {
        let (fixture, _) = try SamplingFixture.load()
        XCTAssertGreaterThan(fixture.schedules.count, 100)
        var worstSigma = 0.0, karrasTimesteps = 0, inexactKarrasTimesteps = 0
        for scheduleCase in fixture.schedules {
            let label = "\(scheduleCase.sampler) \(scheduleCase.config.timestepSpacing?.rawValue ?? "default") "
                + "\(scheduleCase.steps) steps"
            let sampler = try SamplingFixture.makeSampler(scheduleCase.sampler, scheduleCase.config,
                                                          steps: scheduleCase.steps)
            let expected = scheduleCase.timesteps.map { Float($0) }
            if scheduleCase.config.useKarrasSigmas == true, scheduleCase.sampler != "dpmpp_2m_karras" {
                // Fractional Karras timesteps go through float64 `np.log`, which NumPy evaluates with SVML on
                // AVX-512 machines; the C library's `log` can differ from it in the last bit, so allow one ulp.
                XCTAssertEqual(sampler.timesteps.count, expected.count, label)
                for (actual, reference) in zip(sampler.timesteps, expected) {
                    XCTAssertLessThanOrEqual(abs(actual - reference), reference.ulp, "timesteps of \(label)")
                    karrasTimesteps += 1
                    inexactKarrasTimesteps += actual == reference ? 0 : 1
                }
            } else {
                XCTAssertEqual(sampler.timesteps, expected, "timesteps of \(label)")
            }
            XCTAssertEqual(sampler.inferenceSteps, scheduleCase.steps, label)
            if let sigmas = scheduleCase.sigmas, !sampler.sigmas.isEmpty {
                XCTAssertEqual(sampler.sigmas.count, sigmas.count, label)
                for (actual, expected) in zip(sampler.sigmas, sigmas) {
                    worstSigma = max(worstSigma, abs(Double(actual) - expected) / max(expected, 1e-30))
                }
                XCTAssertEqual(sampler.sigmas, sigmas.map { Float($0) }, "sigmas of \(label)")
            }
            XCTAssertEqual(sampler.initNoiseSigma, Float(scheduleCase.initNoiseSigma), "init_noise_sigma of \(label)")
        }
        XCTAssertLessThanOrEqual(worstSigma, 0)
        print("sampler schedules: \(inexactKarrasTimesteps) of \(karrasTimesteps) Karras timesteps 1 ulp off")
    }

    func testSamplerConfigurationDecodesDiffusersSchedulerConfig() throws {
        let json = """
            {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.19.0.dev0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false,
             "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
             "sample_max_value": 1.0, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
             "timestep_spacing": "leading", "trained_betas": null, "use_karras_sigmas": false}
            """
        let configuration = try JSONDecoder().decode(SchedulerConfiguration.self, from: Data(json.utf8))
        XCTAssertEqual(configuration.className, "EulerDiscreteScheduler")
        XCTAssertEqual(configuration.betaSchedule, "scaled_linear")
        XCTAssertEqual(configuration.timestepSpacing, .leading)
        XCTAssertEqual(configuration.stepsOffset, 1)
        XCTAssertNil(configuration.trainedBetas)
        let encoded = try JSONEncoder().encode(configuration)
        XCTAssertEqual(try JSONDecoder().decode(SchedulerConfiguration.self, from: encoded), configuration)
    }

    func testSamplerRejectsOptionsItDoesNotImplement() {
        var configuration = SchedulerConfiguration()
        configuration.useExponentialSigmas = true
        XCTAssertThrowsError(try EulerDiscreteScheduler(configuration: configuration, steps: 10))
        configuration = SchedulerConfiguration()
        configuration.solverOrder = 3
        XCTAssertThrowsError(try DPMSolverMultistepScheduler(configuration: configuration, steps: 10))
        XCTAssertThrowsError(try DDIMScheduler(configuration: SchedulerConfiguration(), steps: 0))
    }

    func testSamplerDiffusionSchedulersRefuseFlowPrediction() {
        var configuration = SchedulerConfiguration()
        configuration.predictionType = .flowPrediction
        let makers: [(String, () throws -> any Sampler)] = [
            ("euler", { try EulerDiscreteScheduler(configuration: configuration, steps: 4) }),
            ("euler_a", { try EulerAncestralDiscreteScheduler(configuration: configuration, steps: 4) }),
            ("heun", { try HeunDiscreteScheduler(configuration: configuration, steps: 4) }),
            ("ddim", { try DDIMScheduler(configuration: configuration, steps: 4) }),
            ("dpm", { try DPMSolverMultistepScheduler(configuration: configuration, steps: 4) }),
            ("lcm", { try LCMScheduler(configuration: configuration, steps: 4) }),
        ]
        for (label, make) in makers {
            XCTAssertThrowsError(try make(), label) { error in
                guard case .unsupported(_, "prediction_type flow_prediction") = error as? SamplerError else {
                    return XCTFail("\(label): \(error)")
                }
            }
        }
    }
}
