import Foundation

/// What the denoiser predicts (`prediction_type`).
public enum PredictionType: String, Codable, Sendable {
    /// The added noise ε (SD 1.x, SDXL).
    case epsilon
    /// The velocity v = α·ε − σ·x₀ (SD 2.x 768-v).
    case vPrediction = "v_prediction"
    /// The clean sample x₀.
    case sample
    /// The flow-matching velocity v = ε − x₀ of x_σ = (1 − σ)·x₀ + σ·ε (Wan, SD3, Flux), which only the flow
    /// samplers take.
    case flowPrediction = "flow_prediction"
}

/// How inference timesteps are spread over the training timesteps (`timestep_spacing`, Table 2 of
/// "Common Diffusion Noise Schedules and Sample Steps are Flawed").
public enum TimestepSpacing: String, Codable, Sendable {
    case linspace, leading, trailing
}

/// The contents of a diffusers `scheduler_config.json`, decoded as saved (snake_case keys).
///
/// Every field is optional because configs name only what differs from a class's defaults and are routinely
/// shared between scheduler classes (SD 1.5 ships a `PNDMScheduler` config that users load into Euler); each
/// scheduler fills the gaps with its own diffusers defaults. Unknown keys are ignored, as `from_config` does.
public struct SchedulerConfiguration: Codable, Sendable, Equatable {
    public var className: String?
    public var numTrainTimesteps: Int?
    public var betaStart: Double?
    public var betaEnd: Double?
    /// `linear`, `scaled_linear` or `squaredcos_cap_v2`.
    public var betaSchedule: String?
    public var trainedBetas: [Double]?
    public var predictionType: PredictionType?
    public var timestepSpacing: TimestepSpacing?
    public var stepsOffset: Int?
    public var setAlphaToOne: Bool?
    public var clipSample: Bool?
    public var clipSampleRange: Double?
    public var thresholding: Bool?
    public var rescaleBetasZeroSnr: Bool?
    public var useKarrasSigmas: Bool?
    public var useExponentialSigmas: Bool?
    public var useBetaSigmas: Bool?
    public var useLuLambdas: Bool?
    public var useFlowSigmas: Bool?
    public var sigmaMin: Double?
    public var sigmaMax: Double?
    /// The data's standard deviation of the EDM-style schedulers (`CosineDPMSolverMultistepScheduler`: 1).
    public var sigmaData: Double?
    /// `CosineDPMSolverMultistepScheduler`'s σ spacing: `exponential` or `karras`.
    public var sigmaSchedule: String?
    /// The Karras schedule's ρ (7).
    public var rho: Double?
    /// `linear` (the only one supported) or `log_linear`.
    public var interpolationType: String?
    /// `discrete` (the only one supported) or `continuous`.
    public var timestepType: String?
    /// `zero` or `sigma_min`.
    public var finalSigmasType: String?
    /// DPM-Solver: `dpmsolver++` or `sde-dpmsolver++` (the deprecated `dpmsolver` variants are not supported).
    public var algorithmType: String?
    public var solverOrder: Int?
    /// DPM-Solver: `midpoint` or `heun`; UniPC: `bh2` (`bh1` is not supported).
    public var solverType: String?
    public var lowerOrderFinal: Bool?
    public var eulerAtFinal: Bool?
    public var lambdaMinClipped: Double?
    public var varianceType: String?
    /// LCM: the length of the distillation schedule the inference timesteps are picked from.
    public var originalInferenceSteps: Int?
    /// LCM: the timestep multiplier of the consistency boundary condition.
    public var timestepScaling: Double?
    /// FlowMatchEuler: the timestep shift s of σ' = s·σ / (1 + (s − 1)·σ) (more steps at high noise for s > 1).
    public var shift: Double?
    /// UniPC with `use_flow_sigmas`: the same timestep shift (3.0 for Wan 480p, 5.0 for 720p and Wan2.2-TI2V-5B).
    public var flowShift: Double?
    /// Flow sigmas: stretch the shifted schedule so that its last σ is this value (LTX-Video).
    public var shiftTerminal: Double?
    /// Flow sigmas: a resolution-dependent shift passed at run time (`mu`) instead of the fixed one.
    public var useDynamicShifting: Bool?
    /// FlowMatchEuler: σ → 1 − σ (Mochi).
    public var invertSigmas: Bool?
    /// FlowMatchEuler: re-noise the x₀ estimate to the next σ with fresh noise instead of an Euler step.
    public var stochasticSampling: Bool?
    /// UniPC: solve for the data prediction x₀ (the only form flow prediction has) rather than the noise.
    public var predictX0: Bool?
    /// UniPC: the indices of the steps whose predicted sample the UniC corrector leaves as it is.
    public var disableCorrector: [Int]?

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps"
        case betaStart = "beta_start"
        case betaEnd = "beta_end"
        case betaSchedule = "beta_schedule"
        case trainedBetas = "trained_betas"
        case predictionType = "prediction_type"
        case timestepSpacing = "timestep_spacing"
        case stepsOffset = "steps_offset"
        case setAlphaToOne = "set_alpha_to_one"
        case clipSample = "clip_sample"
        case clipSampleRange = "clip_sample_range"
        case thresholding
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
        case useKarrasSigmas = "use_karras_sigmas"
        case useExponentialSigmas = "use_exponential_sigmas"
        case useBetaSigmas = "use_beta_sigmas"
        case useLuLambdas = "use_lu_lambdas"
        case useFlowSigmas = "use_flow_sigmas"
        case sigmaMin = "sigma_min"
        case sigmaMax = "sigma_max"
        case sigmaData = "sigma_data"
        case sigmaSchedule = "sigma_schedule"
        case rho
        case interpolationType = "interpolation_type"
        case timestepType = "timestep_type"
        case finalSigmasType = "final_sigmas_type"
        case algorithmType = "algorithm_type"
        case solverOrder = "solver_order"
        case solverType = "solver_type"
        case lowerOrderFinal = "lower_order_final"
        case eulerAtFinal = "euler_at_final"
        case lambdaMinClipped = "lambda_min_clipped"
        case varianceType = "variance_type"
        case originalInferenceSteps = "original_inference_steps"
        case timestepScaling = "timestep_scaling"
        case shift
        case flowShift = "flow_shift"
        case shiftTerminal = "shift_terminal"
        case useDynamicShifting = "use_dynamic_shifting"
        case invertSigmas = "invert_sigmas"
        case stochasticSampling = "stochastic_sampling"
        case predictX0 = "predict_x0"
        case disableCorrector = "disable_corrector"
    }

    /// An empty configuration: every scheduler's diffusers defaults.
    public init() {}

    /// Decodes `scheduler_config.json` at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try RegularFile.contents(of: url)
        } catch {
            throw SamplerError.unreadableConfiguration(url.path, "\(error)")
        }
        do {
            self = try JSONDecoder().decode(SchedulerConfiguration.self, from: data)
        } catch {
            throw SamplerError.unreadableConfiguration(url.path, "\(error)")
        }
    }
}

/// Errors of the samplers: a configuration they cannot honour, or inputs that do not fit their schedule.
public enum SamplerError: Error, CustomStringConvertible, Equatable {
    case unreadableConfiguration(String, String)
    case unsupported(scheduler: String, option: String)
    case invalidSteps(scheduler: String, String)
    case invalidOption(scheduler: String, String)
    case sizeMismatch(scheduler: String, String)
    case finished(scheduler: String)

    public var description: String {
        switch self {
        case .unreadableConfiguration(let path, let reason):
            "cannot read the scheduler configuration \(path): \(reason)"
        case .unsupported(let scheduler, let option):
            "\(scheduler) does not support \(option); use the diffusers defaults for this option"
        case .invalidSteps(let scheduler, let reason):
            "\(scheduler): \(reason)"
        case .invalidOption(let scheduler, let reason):
            "\(scheduler): \(reason)"
        case .sizeMismatch(let scheduler, let reason):
            "\(scheduler): \(reason)"
        case .finished(let scheduler):
            "\(scheduler): step called after the last timestep; start a new sampler"
        }
    }
}
