import Foundation

/// Ancestral Euler sampling (k-diffusion's `sample_euler_ancestral`, η = 1): each step goes down to σ_down with
/// Euler's method and adds fresh noise of size σ_up. diffusers' `EulerAncestralDiscreteScheduler`, which has no
/// Karras option (`use_karras_sigmas` in a shared config is ignored, as diffusers does).
public struct EulerAncestralDiscreteScheduler: Sampler {
    public static let name = "EulerAncestralDiscreteScheduler"
    public let order = 1
    public let inferenceSteps: Int
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float
    public private(set) var stepIndex = 0
    private let predictionType: PredictionType

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration`.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        let schedule = try NoiseSchedule(
            configuration, scheduler: Self.name, betaStart: 0.0001, betaEnd: 0.02, betaSchedule: "linear")
        try checkedSteps(Self.name, steps, trainTimesteps: schedule.trainTimesteps)
        if configuration.predictionType == .sample {
            throw SamplerError.unsupported(scheduler: Self.name, option: "prediction_type sample")
        }
        let spacing = configuration.timestepSpacing ?? .linspace
        let sigmaSchedule = try schedule.inferenceSigmas(
            spacing: spacing, steps: steps, stepsOffset: configuration.stepsOffset ?? 0, karras: false,
            sigmaMin: nil, sigmaMax: nil, finalSigma: "zero", scheduler: Self.name)
        inferenceSteps = steps
        timesteps = sigmaSchedule.timesteps
        sigmas = sigmaSchedule.sigmas
        initNoiseSigma = initialNoiseSigma(sigmas, spacing: spacing)
        predictionType = try diffusionPredictionType(configuration, Self.name)
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
    }

    public func scaleModelInput(_ sample: [Float]) -> [Float] { sigmaScaledInput(sample) }

    /// One ancestral step; draws one noise tensor of the sample's size on every step (the last one included), as
    /// diffusers does.
    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        let count = try checkedCount(Self.name, modelOutput, sample)
        let sigma = sigmas[stepIndex], sigmaTo = sigmas[stepIndex + 1]
        let denoised = predictOriginal(modelOutput, sample: sample, sigma: sigma, predictionType)
        let sigmaUp = (sigmaTo * sigmaTo * (sigma * sigma - sigmaTo * sigmaTo) / (sigma * sigma)).squareRoot()
        let sigmaDown = (sigmaTo * sigmaTo - sigmaUp * sigmaUp).squareRoot()
        let dt = sigmaDown - sigma
        let drift = sample.combined(denoised) { x, x0 in x + ((x - x0) / sigma) * dt }
        let next = drift.combined(noise.normal(count: count)) { x, n in x + n * sigmaUp }
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        try addSigmaNoise(original, noise: noise, sigma: sigmas[index], Self.name)
    }
}
