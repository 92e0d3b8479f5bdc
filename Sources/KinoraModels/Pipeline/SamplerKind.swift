import Foundation

/// The samplers `kinora image` offers, by the names A1111 and ComfyUI users know.
public enum SamplerKind: String, CaseIterable, Sendable, Codable {
    case euler
    case eulerAncestral = "euler_a"
    case heun
    case ddim
    case dpmpp2M = "dpmpp_2m"
    case dpmpp2MKarras = "dpmpp_2m_karras"
    case lcm

    /// The sampler for `steps` steps on the checkpoint's noise schedule (its `scheduler_config.json`).
    public func make(configuration: SchedulerConfiguration, steps: Int) throws -> any Sampler {
        var configuration = configuration
        switch self {
        case .euler: return try EulerDiscreteScheduler(configuration: configuration, steps: steps)
        case .eulerAncestral: return try EulerAncestralDiscreteScheduler(configuration: configuration, steps: steps)
        case .heun: return try HeunDiscreteScheduler(configuration: configuration, steps: steps)
        case .ddim: return try DDIMScheduler(configuration: configuration, steps: steps)
        case .dpmpp2M, .dpmpp2MKarras:
            configuration.useKarrasSigmas = self == .dpmpp2MKarras
            configuration.algorithmType = "dpmsolver++"
            configuration.solverOrder = 2
            return try DPMSolverMultistepScheduler(configuration: configuration, steps: steps)
        case .lcm: return try LCMScheduler(configuration: configuration, steps: steps)
        }
    }
}
