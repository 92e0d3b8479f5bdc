import Foundation

/// Heun's second-order method on the probability-flow ODE (Karras et al. 2022, Algorithm 1): diffusers'
/// `HeunDiscreteScheduler`. Every interior timestep is evaluated twice — once for the Euler predictor ending
/// there and once for the corrector starting there — so `timesteps` holds 2·steps − 1 entries and the caller runs
/// the denoiser once per entry.
public struct HeunDiscreteScheduler: Sampler {
    public static let name = "HeunDiscreteScheduler"
    public let order = 2
    public let inferenceSteps: Int
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float
    public private(set) var stepIndex = 0
    private let predictionType: PredictionType
    private let clipRange: Float?
    /// The predictor's derivative, step size and starting sample while a corrector evaluation is pending.
    private var pending: (derivative: [Float], dt: Float, sample: [Float])?

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration`.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        try rejectSigmaVariants(configuration, Self.name)
        let schedule = try NoiseSchedule(
            configuration, scheduler: Self.name, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "linear")
        try checkedSteps(Self.name, steps, trainTimesteps: schedule.trainTimesteps)
        let spacing = configuration.timestepSpacing ?? .linspace
        let sigmaSchedule = try schedule.inferenceSigmas(
            spacing: spacing, steps: steps, stepsOffset: configuration.stepsOffset ?? 0,
            karras: configuration.useKarrasSigmas ?? false, sigmaMin: nil, sigmaMax: nil, finalSigma: "zero",
            scheduler: Self.name)
        let single = sigmaSchedule.sigmas
        inferenceSteps = steps
        sigmas = [single[0]] + single[1..<(single.count - 1)].flatMap { [$0, $0] } + [single[single.count - 1]]
        timesteps = [sigmaSchedule.timesteps[0]] + sigmaSchedule.timesteps.dropFirst().flatMap { [$0, $0] }
        initNoiseSigma = initialNoiseSigma(sigmas, spacing: spacing)
        predictionType = try diffusionPredictionType(configuration, Self.name)
        clipRange = configuration.clipSample == true ? Float(configuration.clipSampleRange ?? 1) : nil
    }

    /// Whether the next evaluation is a predictor (first-order) one.
    public var isFirstOrderStep: Bool { pending == nil }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
        pending = nil
    }

    public func scaleModelInput(_ sample: [Float]) -> [Float] { sigmaScaledInput(sample) }

    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        _ = try checkedCount(Self.name, modelOutput, sample)
        let next: [Float], denoised: [Float]
        if let predictor = pending {
            let sigmaNext = sigmas[stepIndex]
            denoised = clipped(predictOriginal(modelOutput, sample: sample, sigma: sigmaNext, predictionType))
            let derivative = sample.combined(denoised) { x, x0 in (x - x0) / sigmaNext }
            let average = predictor.derivative.combined(derivative) { a, b in (a + b) / 2 }
            next = predictor.sample.combined(average) { x, d in x + d * predictor.dt }
            pending = nil
        } else {
            let sigma = sigmas[stepIndex], sigmaNext = sigmas[stepIndex + 1]
            denoised = clipped(predictOriginal(modelOutput, sample: sample, sigma: sigma, predictionType))
            let derivative = sample.combined(denoised) { x, x0 in (x - x0) / sigma }
            let dt = sigmaNext - sigma
            next = sample.combined(derivative) { x, d in x + d * dt }
            pending = (derivative, dt, sample)
        }
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        try addSigmaNoise(original, noise: noise, sigma: sigmas[index], Self.name)
    }

    private func clipped(_ values: [Float]) -> [Float] {
        guard let range = clipRange else { return values }
        return values.map { min(max($0, -range), range) }
    }
}
