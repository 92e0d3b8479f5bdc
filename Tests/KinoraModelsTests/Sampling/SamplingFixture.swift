import Foundation
import KinoraFormats
import KinoraModels
import XCTest

/// `Tests/Fixtures/sampling/samplers.{json,safetensors}`, written by `scripts/fixtures/make_sampling_fixtures.py`.
struct SamplingFixture: Decodable, Sendable {
    struct RandomCase: Decodable, Sendable {
        /// "avx2" or "scalar": which of torch's Box–Muller kernels made the values.
        var kernel: String
        var seed: UInt64
        var shapes: [[Int]]
        var keys: [String]
    }

    struct ScheduleCase: Decodable, Sendable {
        var sampler: String
        var config: SchedulerConfiguration
        var steps: Int
        var timesteps: [Double]
        var sigmas: [Double]?
        var initNoiseSigma: Double

        enum CodingKeys: String, CodingKey {
            case sampler, config, steps, timesteps, sigmas
            case initNoiseSigma = "init_noise_sigma"
        }
    }

    struct TrajectoryCase: Decodable, Sendable {
        var sampler: String
        var config: SchedulerConfiguration
        var steps: Int
        var seed: UInt64
        var shape: [Int]
        var key: String
        var count: Int
        var timesteps: [Double]
    }

    struct ImageToImageCase: Decodable, Sendable {
        var sampler: String
        var config: SchedulerConfiguration
        var steps: Int
        var strength: Double
        var tStart: Int
        var beginIndex: Int?
        var timesteps: [Double]
        var key: String

        enum CodingKeys: String, CodingKey {
            case sampler, config, steps, strength, timesteps, key
            case tStart = "t_start"
            case beginIndex = "begin_index"
        }
    }

    struct GuidanceCase: Decodable, Sendable {
        var scale: Float
        var keys: [String]
    }

    var randn: [RandomCase]
    var schedules: [ScheduleCase]
    var trajectories: [TrajectoryCase]
    var img2img: [ImageToImageCase]
    var cfg: [GuidanceCase]

    static let folder = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Fixtures/sampling")

    static func load() throws -> (SamplingFixture, SafetensorsFile) {
        let cases = try JSONDecoder().decode(
            SamplingFixture.self, from: Data(contentsOf: folder.appending(path: "samplers.json")))
        return (cases, try SafetensorsFile(url: folder.appending(path: "samplers.safetensors")))
    }

    /// The sampler a fixture case names, made for `steps` inference steps.
    static func makeSampler(_ name: String, _ configuration: SchedulerConfiguration, steps: Int) throws -> any Sampler {
        switch name {
        case "euler", "euler_karras": try EulerDiscreteScheduler(configuration: configuration, steps: steps)
        case "euler_ancestral": try EulerAncestralDiscreteScheduler(configuration: configuration, steps: steps)
        case "heun", "heun_karras": try HeunDiscreteScheduler(configuration: configuration, steps: steps)
        case "ddim": try DDIMScheduler(configuration: configuration, steps: steps)
        case "dpmpp_2m", "dpmpp_2m_karras", "dpmpp_2m_sde":
            try DPMSolverMultistepScheduler(configuration: configuration, steps: steps)
        case "lcm": try LCMScheduler(configuration: configuration, steps: steps)
        default: throw SamplerError.unsupported(scheduler: name, option: "fixture sampler name")
        }
    }

    /// The stand-in denoiser of the fixtures: `0.1 · x · cos(t / 100) + 0.05 · sin(t / 300)` as torch evaluates it.
    static func model(_ input: [Float], timestep: Float) -> [Float] {
        let t = Double(timestep)
        let scale = Float(Foundation.cos(t / 100)), offset = Float(0.05 * Foundation.sin(t / 300))
        return input.map { Float(0.1) * $0 * scale + offset }
    }
}

/// Relative L2 error ‖a − e‖ / ‖e‖ in double.
func samplingRelativeError(_ actual: [Float], _ expected: [Float]) -> Double {
    guard actual.count == expected.count else { return .infinity }
    var difference = 0.0, norm = 0.0
    for (a, e) in zip(actual, expected) {
        let d = Double(a) - Double(e)
        difference += d.isNaN ? .infinity : d * d
        norm += Double(e) * Double(e)
    }
    return (difference / max(norm, 1e-30)).squareRoot()
}
