import Foundation
import KinoraFormats
import KinoraModels
import XCTest

/// `Tests/Fixtures/sampling/flow_samplers.{json,safetensors}`, written by
/// `scripts/fixtures/make_flow_sampling_fixtures.py` (diffusers 0.42.1, torch 2.15.0).
struct FlowSamplingFixture: Decodable, Sendable {
    struct ScheduleCase: Decodable, Sendable {
        var sampler: String
        var base: String
        var overrides: SchedulerConfiguration
        var steps: Int
        var timesteps: [Double]
        var sigmas: [Double]
    }

    struct TrajectoryCase: Decodable, Sendable {
        var sampler: String
        var base: String
        var overrides: SchedulerConfiguration
        var steps: Int
        var seed: UInt64
        var shape: [Int]
        var key: String
        var count: Int
        /// The step indices whose samples the fixture stores, in the order of the stacked tensor.
        var stored: [Int]
        var timesteps: [Double]
        var sigmas: [Double]
    }

    struct NoiseCase: Decodable, Sendable {
        var sampler: String
        var base: String
        var overrides: SchedulerConfiguration
        var steps: Int
        var strength: Double
        var tStart: Int
        var timesteps: [Double]
        var key: String

        enum CodingKeys: String, CodingKey {
            case sampler, base, overrides, steps, strength, timesteps, key
            case tStart = "t_start"
        }
    }

    /// The full configurations the cases start from: the Wan folders' `scheduler_config.json` and FlowMatchEuler's.
    var configs: [String: SchedulerConfiguration]
    var schedules: [ScheduleCase]
    var trajectories: [TrajectoryCase]
    var addNoise: [NoiseCase]

    enum CodingKeys: String, CodingKey {
        case configs, schedules, trajectories
        case addNoise = "add_noise"
    }

    static let folder = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Fixtures/sampling")

    static func load() throws -> (FlowSamplingFixture, SafetensorsFile) {
        let cases = try JSONDecoder().decode(
            FlowSamplingFixture.self, from: Data(contentsOf: folder.appending(path: "flow_samplers.json")))
        return (cases, try SafetensorsFile(url: folder.appending(path: "flow_samplers.safetensors")))
    }

    /// `configs[base]` with the keys of `overrides` replaced, as the script's `configs[base] | overrides`.
    func configuration(_ base: String, _ overrides: SchedulerConfiguration) throws -> SchedulerConfiguration {
        let full = try XCTUnwrap(configs[base], "no configuration \(base)")
        func object(_ configuration: SchedulerConfiguration) throws -> [String: Any] {
            try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as? [String: Any])
        }
        let merged = try object(full).merging(object(overrides)) { $1 }
        return try JSONDecoder().decode(
            SchedulerConfiguration.self, from: JSONSerialization.data(withJSONObject: merged))
    }

    /// The sampler a fixture case names ("unipc" or "flow_match_euler"), made for `steps` inference steps.
    static func makeSampler(_ name: String, _ configuration: SchedulerConfiguration, steps: Int) throws -> any Sampler {
        switch name {
        case "unipc": try UniPCMultistepScheduler(configuration: configuration, steps: steps)
        case "flow_match_euler": try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: steps)
        default: throw SamplerError.unsupported(scheduler: name, option: "fixture sampler name")
        }
    }

    /// The stand-in velocity model of the fixtures: `0.3 · x + 0.5 · sin(t / 100)` as torch evaluates it in float32.
    static func model(_ sample: [Float], timestep: Float) -> [Float] {
        let offset = Float(0.5 * Foundation.sin(Double(timestep) / 100))
        return sample.map { Float(0.3) * $0 + offset }
    }

    /// Runs a trajectory case from its seeded latents and returns, for each stored step, the relative L2 error
    /// against diffusers' sample; `adjust` may change the configuration (to check that a wrong one is caught).
    func trajectoryErrors(
        _ trajectory: TrajectoryCase, _ tensors: SafetensorsFile,
        adjust: (inout SchedulerConfiguration) -> Void = { _ in }
    ) throws -> [Double] {
        var configuration = try configuration(trajectory.base, trajectory.overrides)
        adjust(&configuration)
        var sampler = try Self.makeSampler(trajectory.sampler, configuration, steps: trajectory.steps)
        var random = TorchRandom(seed: trajectory.seed)
        var latents = random.normal(count: trajectory.shape.reduce(1, *))
        let expected = try tensors.floats(trajectory.key)
        let size = latents.count
        var errors: [Double] = []
        var step = 0
        while let t = sampler.currentTimestep {
            let output = Self.model(sampler.scaleModelInput(latents), timestep: t)
            latents = try sampler.step(output, sample: latents, noise: &random).sample
            if let slot = trajectory.stored.firstIndex(of: step) {
                errors.append(samplingRelativeError(latents, Array(expected[(slot * size)..<((slot + 1) * size)])))
            }
            step += 1
        }
        XCTAssertEqual(step, trajectory.count, trajectory.key)
        return errors
    }
}
