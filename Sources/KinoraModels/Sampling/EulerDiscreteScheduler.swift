import Foundation

/// Euler's method on the probability-flow ODE in σ (Karras et al. 2022, Algorithm 2 without churn): diffusers'
/// `EulerDiscreteScheduler`, optionally on Karras sigmas (`use_karras_sigmas`).
public struct EulerDiscreteScheduler: Sampler {
    public static let name = "EulerDiscreteScheduler"
    public let order = 1
    public let inferenceSteps: Int
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float
    public private(set) var stepIndex = 0
    private let predictionType: PredictionType

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration`.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        try Self.checkSupported(configuration)
        let schedule = try NoiseSchedule(
            configuration, scheduler: Self.name, betaStart: 0.0001, betaEnd: 0.02, betaSchedule: "linear")
        try checkedSteps(Self.name, steps, trainTimesteps: schedule.trainTimesteps)
        let spacing = configuration.timestepSpacing ?? .linspace
        let sigmaSchedule = try schedule.inferenceSigmas(
            spacing: spacing, steps: steps, stepsOffset: configuration.stepsOffset ?? 0,
            karras: configuration.useKarrasSigmas ?? false, sigmaMin: configuration.sigmaMin,
            sigmaMax: configuration.sigmaMax, finalSigma: configuration.finalSigmasType ?? "zero", scheduler: Self.name)
        inferenceSteps = steps
        timesteps = sigmaSchedule.timesteps
        sigmas = sigmaSchedule.sigmas
        initNoiseSigma = initialNoiseSigma(sigmas, spacing: spacing)
        predictionType = try diffusionPredictionType(configuration, Self.name)
    }

    static func checkSupported(_ configuration: SchedulerConfiguration) throws {
        try rejectSigmaVariants(configuration, name)
        if let interpolation = configuration.interpolationType, interpolation != "linear" {
            throw SamplerError.unsupported(scheduler: name, option: "interpolation_type \(interpolation)")
        }
        if let type = configuration.timestepType, type != "discrete" {
            throw SamplerError.unsupported(scheduler: name, option: "timestep_type \(type)")
        }
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
    }

    public func scaleModelInput(_ sample: [Float]) -> [Float] { sigmaScaledInput(sample) }

    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        _ = try checkedCount(Self.name, modelOutput, sample)
        let sigma = sigmas[stepIndex]
        let denoised = predictOriginal(modelOutput, sample: sample, sigma: sigma, predictionType)
        let dt = sigmas[stepIndex + 1] - sigma
        let next = sample.combined(denoised) { x, x0 in x + ((x - x0) / sigma) * dt }
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        try addSigmaNoise(original, noise: noise, sigma: sigmas[index], Self.name)
    }
}

/// `init_noise_sigma` of the k-diffusion style schedulers: σ_max, or √(σ_max² + 1) for "leading" spacing.
func initialNoiseSigma(_ sigmas: [Float], spacing: TimestepSpacing) -> Float {
    let maximum = sigmas.max() ?? 1
    return spacing == .leading ? (maximum * maximum + 1).squareRoot() : maximum
}

/// x₀ from a σ-parameterised sample (k-diffusion's `c_skip`/`c_out` for ε and v prediction), float32 as diffusers.
func predictOriginal(_ modelOutput: [Float], sample: [Float], sigma: Float, _ predictionType: PredictionType)
    -> [Float]
{
    switch predictionType {
    case .epsilon:
        return sample.combined(modelOutput) { x, eps in x - sigma * eps }
    case .vPrediction:
        let variance = sigma * sigma + 1
        let outputScale = -sigma / variance.squareRoot()
        return modelOutput.combined(sample) { v, x in v * outputScale + x / variance }
    case .sample:
        return modelOutput
    case .flowPrediction:
        flowPredictionRejected()
    }
}

/// `original + noise · σ` (the σ-parameterised schedulers' `add_noise`).
func addSigmaNoise(_ original: [Float], noise: [Float], sigma: Float, _ scheduler: String) throws -> [Float] {
    _ = try checkedCount(scheduler, noise, original)
    return original.combined(noise) { x, n in x + n * sigma }
}

/// Rejects the σ schedules other than the interpolated and Karras ones.
func rejectSigmaVariants(_ configuration: SchedulerConfiguration, _ scheduler: String) throws {
    let variants: [(Bool?, String)] = [
        (configuration.useExponentialSigmas, "use_exponential_sigmas"),
        (configuration.useBetaSigmas, "use_beta_sigmas"),
        (configuration.useLuLambdas, "use_lu_lambdas"), (configuration.useFlowSigmas, "use_flow_sigmas"),
        (configuration.thresholding, "thresholding"),
    ]
    for (flag, option) in variants where flag == true {
        throw SamplerError.unsupported(scheduler: scheduler, option: option)
    }
}

func checkBeginIndex(_ index: Int, _ scheduler: String, _ count: Int) throws {
    guard index >= 0, index < count else {
        throw SamplerError.invalidSteps(scheduler: scheduler, "begin index \(index) outside 0..<\(count)")
    }
}

extension NoiseSchedule {
    /// Timesteps and σ of the k-diffusion style schedulers' `set_timesteps` (σ has one more, final entry).
    func inferenceSigmas(spacing: TimestepSpacing, steps: Int, stepsOffset: Int, karras: Bool, sigmaMin: Double?,
                         sigmaMax: Double?, finalSigma: String, scheduler: String) throws
        -> (timesteps: [Float], sigmas: [Float])
    {
        var timesteps = Self.spacedTimesteps(
            spacing, steps: steps, trainTimesteps: trainTimesteps, stepsOffset: stepsOffset
        ).map { Double(Float($0)) }
        var sigmas = interpolatedSigmas(at: timesteps)
        if karras {
            sigmas = Self.karrasSigmas(
                sigmaMin: sigmaMin ?? sigmas[sigmas.count - 1], sigmaMax: sigmaMax ?? sigmas[0], steps: steps)
            timesteps = sigmas.map { timestep(forSigma: $0) }
        }
        switch finalSigma {
        case "zero": sigmas.append(0)
        case "sigma_min": sigmas.append(Double(self.sigmas[0]))
        default: throw SamplerError.unsupported(scheduler: scheduler, option: "final_sigmas_type \(finalSigma)")
        }
        return (timesteps.map { Float($0) }, sigmas.map { Float($0) })
    }
}
