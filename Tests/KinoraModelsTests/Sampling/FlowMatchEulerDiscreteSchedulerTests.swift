import Foundation
import KinoraModels
import XCTest

final class FlowMatchEulerDiscreteSchedulerTests: XCTestCase {
    /// Relative L2 tolerance of every stored sample against diffusers: the schedule is bit-exact and a step is one
    /// float32 multiply-add per value in torch's order, so the samples match to the last bit in practice.
    let tolerance = 1e-7

    func testFlowEulerTimestepsAndSigmasMatchDiffusersExactly() throws {
        let (fixture, _) = try FlowSamplingFixture.load()
        let cases = fixture.schedules.filter { $0.sampler == "flow_match_euler" }
        XCTAssertGreaterThanOrEqual(cases.count, 16)
        for scheduleCase in cases {
            let label =
                "shift \(scheduleCase.overrides.shift ?? 3) \(scheduleCase.overrides) \(scheduleCase.steps) steps"
            let configuration = try fixture.configuration(scheduleCase.base, scheduleCase.overrides)
            let sampler = try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: scheduleCase.steps)
            XCTAssertEqual(sampler.timesteps, scheduleCase.timesteps.map { Float($0) }, "timesteps of \(label)")
            XCTAssertEqual(sampler.sigmas, scheduleCase.sigmas.map { Float($0) }, "sigmas of \(label)")
            XCTAssertEqual(sampler.inferenceSteps, scheduleCase.steps, label)
        }
    }

    func testFlowEulerTrajectoriesMatchDiffusers() throws {
        let (fixture, tensors) = try FlowSamplingFixture.load()
        let trajectories = fixture.trajectories.filter { $0.sampler == "flow_match_euler" }
        XCTAssertGreaterThanOrEqual(trajectories.count, 7)
        var random = TorchRandom(seed: try XCTUnwrap(trajectories.first?.seed))
        XCTAssertEqual(random.normal(count: 60), try tensors.floats("initial"), "the seeded latents")
        var worst = 0.0
        for trajectory in trajectories {
            let configuration = try fixture.configuration(trajectory.base, trajectory.overrides)
            let sampler = try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: trajectory.steps)
            XCTAssertEqual(sampler.timesteps, trajectory.timesteps.map { Float($0) }, trajectory.key)
            let errors = try fixture.trajectoryErrors(trajectory, tensors)
            XCTAssertEqual(errors.count, trajectory.stored.count, trajectory.key)
            for (step, error) in zip(trajectory.stored, errors) {
                XCTAssertLessThanOrEqual(error, tolerance, "\(trajectory.key) step \(step)")
                worst = max(worst, error)
            }
        }
        print("FlowMatchEuler trajectories: worst relative L2 error \(worst)")
    }

    func testFlowEulerTrajectoryToleranceCatchesAWrongShiftOrStep() throws {
        let (fixture, tensors) = try FlowSamplingFixture.load()
        let trajectory = try XCTUnwrap(fixture.trajectories.first { $0.key == "trajectory.flow_match_euler.shift3.10" })
        let changes: [(String, (inout SchedulerConfiguration) -> Void)] = [
            ("shift 3.001", { $0.shift = 3.001 }),
            ("stochastic", { $0.stochasticSampling = true }),
            ("shift terminal", { $0.shiftTerminal = 0.001 }),
        ]
        for (change, adjust) in changes {
            let errors = try fixture.trajectoryErrors(trajectory, tensors, adjust: adjust)
            XCTAssertGreaterThan(errors.max() ?? 0, 100 * tolerance, "\(change) should miss the reference")
        }
    }

    func testFlowEulerScaleNoiseStartsVideoToVideoWhereDiffusersDoes() throws {
        let (fixture, tensors) = try FlowSamplingFixture.load()
        let original = try tensors.floats("add_noise.original")
        let noise = try tensors.floats("add_noise.noise")
        for noiseCase in fixture.addNoise where noiseCase.sampler == "flow_match_euler" {
            let configuration = try fixture.configuration(noiseCase.base, noiseCase.overrides)
            var sampler = try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: noiseCase.steps)
            let noised = try sampler.startImageToImage(original: original, noise: noise, strength: noiseCase.strength)
            XCTAssertEqual(sampler.stepIndex, noiseCase.tStart, noiseCase.key)
            XCTAssertEqual(Array(sampler.timesteps[sampler.stepIndex...]), noiseCase.timesteps.map { Float($0) })
            XCTAssertEqual(noised, try tensors.floats(noiseCase.key), noiseCase.key)
        }
    }

    func testFlowEulerStepIsTheVelocityTimesTheSigmaStep() throws {
        var configuration = SchedulerConfiguration()
        configuration.shift = 3
        var sampler = try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: 4)
        XCTAssertEqual(sampler.sigmas.first, 1)
        XCTAssertEqual(sampler.sigmas.last, 0)
        XCTAssertEqual(sampler.initNoiseSigma, 1)
        XCTAssertEqual(sampler.scaleModelInput([0.5, -2]), [0.5, -2])
        let sigma = sampler.sigmas[0]
        let next = sampler.sigmas[1]
        var random = TorchRandom(seed: 0)
        let step = try sampler.step([2, -1], sample: [0.5, 0.25], noise: &random)
        XCTAssertEqual(step.sample, [0.5 + (next - sigma) * 2, 0.25 + (next - sigma) * -1])
        XCTAssertEqual(step.denoised, [0.5 - sigma * 2, 0.25 - sigma * -1])
    }

    func testFlowEulerRejectsBadStepsShiftsAndOptionsWithAnError() throws {
        let name = FlowMatchEulerDiscreteScheduler.name
        for steps in [0, -1, 1001] {
            XCTAssertThrowsError(try FlowMatchEulerDiscreteScheduler(configuration: .init(), steps: steps)) { error in
                XCTAssertEqual(
                    error as? SamplerError,
                    .invalidSteps(scheduler: name, "steps must be in 1...1000, got \(steps)"))
            }
        }
        for shift in [-1.0, 0, .nan, -.infinity] {
            var configuration = SchedulerConfiguration()
            configuration.shift = shift
            XCTAssertThrowsError(try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: 10)) {
                error in
                XCTAssertEqual(
                    error as? SamplerError,
                    .invalidOption(scheduler: name, "shift must be a positive number, got \(shift)"))
            }
        }
        for terminal in [-0.1, 1, 2] {
            var configuration = SchedulerConfiguration()
            configuration.shiftTerminal = terminal
            XCTAssertThrowsError(try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: 10)) {
                error in
                XCTAssertEqual(
                    error as? SamplerError,
                    .invalidOption(scheduler: name, "shift_terminal must be in [0, 1), got \(terminal)"))
            }
        }
        var configuration = SchedulerConfiguration()
        configuration.numTrainTimesteps = 0
        XCTAssertThrowsError(try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: 1))
        let refused: [(String, (inout SchedulerConfiguration) -> Void)] = [
            ("use_dynamic_shifting", { $0.useDynamicShifting = true }),
            ("invert_sigmas", { $0.invertSigmas = true }),
            ("use_karras_sigmas", { $0.useKarrasSigmas = true }),
            ("use_exponential_sigmas", { $0.useExponentialSigmas = true }),
            ("use_beta_sigmas", { $0.useBetaSigmas = true }),
        ]
        for (option, adjust) in refused {
            var configuration = SchedulerConfiguration()
            adjust(&configuration)
            XCTAssertThrowsError(try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: 10)) {
                error in
                XCTAssertEqual(error as? SamplerError, .unsupported(scheduler: name, option: option))
            }
        }
        var sampler = try FlowMatchEulerDiscreteScheduler(configuration: .init(), steps: 1)
        var random = TorchRandom(seed: 0)
        XCTAssertThrowsError(try sampler.step([1], sample: [1, 2], noise: &random))
        XCTAssertThrowsError(try sampler.addNoise([1], noise: [1], atStep: 1))
        _ = try sampler.step([1], sample: [1], noise: &random)
        XCTAssertNil(sampler.currentTimestep)
        XCTAssertThrowsError(try sampler.step([1], sample: [1], noise: &random)) { error in
            XCTAssertEqual(error as? SamplerError, .finished(scheduler: name))
        }
    }
}
