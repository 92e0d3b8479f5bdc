import Foundation
import XCTest

@testable import KinoraModels

final class UniPCMultistepSchedulerTests: XCTestCase {
    /// Relative L2 tolerance of every stored sample against diffusers. The schedule is bit-exact; the step scalars
    /// differ from torch's only in the last bits of float32 `log` (torch takes MKL's vsLn, 1 ulp off the C library's
    /// for ~7% of arguments) and `expm1` (SLEEF's), which moves samples by ~1e-7.
    let tolerance = 1e-6

    func testUniPCTimestepsAndSigmasMatchDiffusersExactly() throws {
        let (fixture, _) = try FlowSamplingFixture.load()
        let cases = fixture.schedules.filter { $0.sampler == "unipc" }
        XCTAssertGreaterThanOrEqual(cases.count, 16)
        for scheduleCase in cases {
            let label = "\(scheduleCase.base) \(scheduleCase.overrides) \(scheduleCase.steps) steps"
            let configuration = try fixture.configuration(scheduleCase.base, scheduleCase.overrides)
            let sampler = try UniPCMultistepScheduler(configuration: configuration, steps: scheduleCase.steps)
            XCTAssertEqual(sampler.timesteps, scheduleCase.timesteps.map { Float($0) }, "timesteps of \(label)")
            XCTAssertEqual(sampler.sigmas, scheduleCase.sigmas.map { Float($0) }, "sigmas of \(label)")
            XCTAssertEqual(sampler.inferenceSteps, scheduleCase.steps, label)
            XCTAssertEqual(sampler.initNoiseSigma, 1, label)
        }
    }

    func testUniPCTrajectoriesMatchDiffusersForTheWanConfigurations() throws {
        let (fixture, tensors) = try FlowSamplingFixture.load()
        let trajectories = fixture.trajectories.filter { $0.sampler == "unipc" }
        XCTAssertGreaterThanOrEqual(trajectories.count, 15)
        var worst = 0.0
        for trajectory in trajectories {
            let configuration = try fixture.configuration(trajectory.base, trajectory.overrides)
            let sampler = try UniPCMultistepScheduler(configuration: configuration, steps: trajectory.steps)
            XCTAssertEqual(sampler.timesteps, trajectory.timesteps.map { Float($0) }, trajectory.key)
            XCTAssertEqual(sampler.sigmas, trajectory.sigmas.map { Float($0) }, trajectory.key)
            let errors = try fixture.trajectoryErrors(trajectory, tensors)
            XCTAssertEqual(errors.count, trajectory.stored.count, trajectory.key)
            for (step, error) in zip(trajectory.stored, errors) {
                XCTAssertLessThanOrEqual(error, tolerance, "\(trajectory.key) step \(step)")
                worst = max(worst, error)
            }
        }
        print("UniPC trajectories: worst relative L2 error \(worst)")
    }

    func testUniPCTrajectoryToleranceCatchesAMissingCorrectorOrAWrongOrder() throws {
        let (fixture, tensors) = try FlowSamplingFixture.load()
        let trajectory = try XCTUnwrap(fixture.trajectories.first { $0.key == "trajectory.unipc.wan21_shift3.10" })
        let changes: [(String, (inout SchedulerConfiguration) -> Void)] = [
            ("no corrector", { $0.disableCorrector = Array(0..<10) }),
            ("order 1", { $0.solverOrder = 1 }),
            (
                "no lower order final",
                {
                    $0.lowerOrderFinal = false
                    $0.finalSigmasType = "sigma_min"
                }
            ),
            ("flow shift 3.01", { $0.flowShift = 3.01 }),
        ]
        for (change, adjust) in changes {
            let errors = try fixture.trajectoryErrors(trajectory, tensors, adjust: adjust)
            XCTAssertGreaterThan(errors.max() ?? 0, 1e3 * tolerance, "\(change) should miss the reference")
        }
    }

    func testUniPCCorrectorSolveMatchesTorchLinalgSolveExactly() throws {
        let (_, tensors) = try FlowSamplingFixture.load()
        let rows = try tensors.floats("corrector_solve")
        XCTAssertEqual(rows.count, 64 * 5)
        var pivoted = 0
        for row in stride(from: 0, to: rows.count, by: 5) {
            let (r1, b0, b1) = (rows[row], rows[row + 1], rows[row + 2])
            let rho = solve2x2(a00: 1, a01: 1, a10: r1, a11: 1, b0: b0, b1: b1)
            XCTAssertEqual(rho.0, rows[row + 3], "ρ0 for r1 \(r1), b (\(b0), \(b1))")
            XCTAssertEqual(rho.1, rows[row + 4], "ρ1 for r1 \(r1), b (\(b0), \(b1))")
            pivoted += abs(r1) > 1 ? 1 : 0
        }
        XCTAssertEqual(pivoted, 32, "both pivot choices are exercised")
    }

    func testUniPCAddNoiseStartsVideoToVideoWhereDiffusersDoes() throws {
        let (fixture, tensors) = try FlowSamplingFixture.load()
        let original = try tensors.floats("add_noise.original")
        let noise = try tensors.floats("add_noise.noise")
        for noiseCase in fixture.addNoise where noiseCase.sampler == "unipc" {
            let configuration = try fixture.configuration(noiseCase.base, noiseCase.overrides)
            var sampler = try UniPCMultistepScheduler(configuration: configuration, steps: noiseCase.steps)
            let noised = try sampler.startImageToImage(original: original, noise: noise, strength: noiseCase.strength)
            XCTAssertEqual(sampler.stepIndex, noiseCase.tStart, noiseCase.key)
            XCTAssertEqual(Array(sampler.timesteps[sampler.stepIndex...]), noiseCase.timesteps.map { Float($0) })
            XCTAssertEqual(noised, try tensors.floats(noiseCase.key), noiseCase.key)
        }
    }

    func testUniPCDecodesTheWanDiffusersSchedulerConfigs() throws {
        let (fixture, _) = try FlowSamplingFixture.load()
        for (name, shift) in [("wan21_t2v_1_3b", 3.0), ("wan22_ti2v_5b", 5.0)] {
            let configuration = try XCTUnwrap(fixture.configs[name])
            XCTAssertEqual(configuration.className, "UniPCMultistepScheduler")
            XCTAssertEqual(configuration.flowShift, shift)
            XCTAssertEqual(configuration.predictionType, .flowPrediction)
            XCTAssertEqual(configuration.useFlowSigmas, true)
            XCTAssertEqual(configuration.predictX0, true)
            XCTAssertEqual(configuration.disableCorrector, [])
            XCTAssertEqual(configuration.solverType, "bh2")
            XCTAssertNoThrow(try UniPCMultistepScheduler(configuration: configuration, steps: 50))
        }
    }

    func testUniPCRejectsBadStepsShiftsAndOptionsWithAnError() throws {
        let (fixture, _) = try FlowSamplingFixture.load()
        let wan = try XCTUnwrap(fixture.configs["wan21_t2v_1_3b"])
        let name = UniPCMultistepScheduler.name
        for steps in [0, -3, 1001] {
            XCTAssertThrowsError(try UniPCMultistepScheduler(configuration: wan, steps: steps)) { error in
                XCTAssertEqual(
                    error as? SamplerError, .invalidSteps(scheduler: name, "steps must be in 1...1000, got \(steps)"))
            }
        }
        for shift in [-3.0, 0, .nan, .infinity] {
            var configuration = wan
            configuration.flowShift = shift
            XCTAssertThrowsError(try UniPCMultistepScheduler(configuration: configuration, steps: 10)) { error in
                XCTAssertEqual(
                    error as? SamplerError,
                    .invalidOption(scheduler: name, "flow_shift must be a positive number, got \(shift)"))
            }
        }
        let outsideTheFlowForm: [(String, (inout SchedulerConfiguration) -> Void)] = [
            ("use_flow_sigmas false", { $0.useFlowSigmas = false }),
            ("use_flow_sigmas false", { $0.useFlowSigmas = nil }),
            ("prediction_type epsilon", { $0.predictionType = .epsilon }),
            ("prediction_type epsilon", { $0.predictionType = nil }),
            ("predict_x0 false", { $0.predictX0 = false }),
        ]
        for (setting, adjust) in outsideTheFlowForm {
            var configuration = wan
            adjust(&configuration)
            XCTAssertThrowsError(try UniPCMultistepScheduler(configuration: configuration, steps: 10)) { error in
                XCTAssertEqual(
                    error as? SamplerError,
                    .invalidOption(
                        scheduler: name,
                        "only the flow-matching form (use_flow_sigmas true, prediction_type flow_prediction, "
                            + "predict_x0 true) is implemented, got \(setting)"))
            }
        }
        let refused: [(String, (inout SchedulerConfiguration) -> Void)] = [
            ("solver_type bh1", { $0.solverType = "bh1" }),
            ("solver_order 3", { $0.solverOrder = 3 }),
            ("final_sigmas_type sigma_max", { $0.finalSigmasType = "sigma_max" }),
            ("use_karras_sigmas", { $0.useKarrasSigmas = true }),
            ("use_dynamic_shifting", { $0.useDynamicShifting = true }),
            ("thresholding", { $0.thresholding = true }),
            (
                "lower_order_final false with solver_order 2 and final_sigmas_type zero",
                { $0.lowerOrderFinal = false }
            ),
        ]
        for (option, adjust) in refused {
            var configuration = wan
            adjust(&configuration)
            XCTAssertThrowsError(try UniPCMultistepScheduler(configuration: configuration, steps: 10)) { error in
                XCTAssertEqual(error as? SamplerError, .unsupported(scheduler: name, option: option))
            }
        }
        var configuration = wan
        configuration.shiftTerminal = 1
        XCTAssertThrowsError(try UniPCMultistepScheduler(configuration: configuration, steps: 10))
        var sampler = try UniPCMultistepScheduler(configuration: wan, steps: 2)
        var random = TorchRandom(seed: 0)
        XCTAssertThrowsError(try sampler.step([1, 2], sample: [1, 2, 3], noise: &random))
        XCTAssertThrowsError(try sampler.addNoise([1], noise: [1], atStep: 2))
        XCTAssertThrowsError(try sampler.setBeginIndex(-1))
        _ = try sampler.step([1], sample: [1], noise: &random)
        _ = try sampler.step([1], sample: [1], noise: &random)
        XCTAssertThrowsError(try sampler.step([1], sample: [1], noise: &random)) { error in
            XCTAssertEqual(error as? SamplerError, .finished(scheduler: name))
        }
    }
}
