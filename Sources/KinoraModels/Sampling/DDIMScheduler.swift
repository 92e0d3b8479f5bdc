import Foundation

/// Deterministic DDIM sampling (Song et al. 2020, η = 0): diffusers' `DDIMScheduler` with `eta=0`, the default of
/// the Stable Diffusion pipelines.
public struct DDIMScheduler: Sampler {
    public static let name = "DDIMScheduler"
    public let order = 1
    public let inferenceSteps: Int
    public let timesteps: [Float]
    public let sigmas: [Float] = []
    public let initNoiseSigma: Float = 1
    public private(set) var stepIndex = 0
    private let schedule: NoiseSchedule
    private let trainTimesteps: [Int]
    private let finalAlphaCumprod: Float
    private let predictionType: PredictionType
    private let clipRange: Float?

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration`.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        if configuration.thresholding == true {
            throw SamplerError.unsupported(scheduler: Self.name, option: "thresholding")
        }
        schedule = try NoiseSchedule(
            configuration, scheduler: Self.name, betaStart: 0.0001, betaEnd: 0.02, betaSchedule: "linear")
        let train = schedule.trainTimesteps
        try checkedSteps(Self.name, steps, trainTimesteps: train)
        let offset = configuration.stepsOffset ?? 0
        switch configuration.timestepSpacing ?? .leading {
        case .linspace:
            trainTimesteps = NoiseSchedule.numpyLinspace(0, Double(train - 1), steps).reversed().map {
                Int($0.rounded(.toNearestOrEven))
            }
        case .leading:
            trainTimesteps = (0..<steps).reversed().map { $0 * (train / steps) + offset }
        case .trailing:
            trainTimesteps = NoiseSchedule.trailing(steps: steps, from: train, trainTimesteps: train)
        }
        inferenceSteps = steps
        timesteps = trainTimesteps.map { Float($0) }
        finalAlphaCumprod = configuration.setAlphaToOne ?? true ? 1 : schedule.alphasCumprod[0]
        predictionType = try diffusionPredictionType(configuration, Self.name)
        clipRange = configuration.clipSample ?? true ? Float(configuration.clipSampleRange ?? 1) : nil
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
    }

    public func scaleModelInput(_ sample: [Float]) -> [Float] { sample }

    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        _ = try checkedCount(Self.name, modelOutput, sample)
        let t = trainTimesteps[stepIndex]
        let previous = t - schedule.trainTimesteps / inferenceSteps
        let alpha = schedule.alphasCumprod[t]
        let alphaPrevious = previous >= 0 ? schedule.alphasCumprod[previous] : finalAlphaCumprod
        let sqrtAlpha = alpha.squareRoot(), sqrtBeta = (1 - alpha).squareRoot()
        let original = predictOriginal(modelOutput, sample: sample, alphaCumprod: alpha, predictionType,
                                       clip: clipRange)
        // ε from the unclipped prediction, as diffusers computes `pred_epsilon` before clipping x₀.
        let epsilon: [Float]
        switch predictionType {
        case .epsilon: epsilon = modelOutput
        case .vPrediction: epsilon = modelOutput.combined(sample) { v, x in sqrtAlpha * v + sqrtBeta * x }
        case .sample: epsilon = sample.combined(modelOutput) { x, x0 in (x - sqrtAlpha * x0) / sqrtBeta }
        case .flowPrediction: flowPredictionRejected()
        }
        let direction = (1 - alphaPrevious).squareRoot()
        let sqrtAlphaPrevious = alphaPrevious.squareRoot()
        let next = original.combined(epsilon) { x0, eps in sqrtAlphaPrevious * x0 + direction * eps }
        stepIndex += 1
        return SamplerStep(sample: next, denoised: original)
    }

    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        try addAlphaNoise(
            original, noise: noise, alphaCumprod: schedule.alphasCumprod[trainTimesteps[index]], Self.name)
    }
}

/// `√ᾱ · original + √(1 − ᾱ) · noise` (the ᾱ-parameterised schedulers' `add_noise`).
func addAlphaNoise(_ original: [Float], noise: [Float], alphaCumprod: Float, _ scheduler: String) throws -> [Float] {
    _ = try checkedCount(scheduler, noise, original)
    let signal = alphaCumprod.squareRoot(), spread = (1 - alphaCumprod).squareRoot()
    return original.combined(noise) { x, n in signal * x + spread * n }
}
