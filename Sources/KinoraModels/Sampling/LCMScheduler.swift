import Foundation

/// Latent Consistency Model multistep sampling (Luo et al. 2023): each step maps the sample to the consistency
/// function's x₀ estimate and re-noises it to the next timestep. diffusers' `LCMScheduler`.
public struct LCMScheduler: Sampler {
    public static let name = "LCMScheduler"
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
    private let timestepScaling: Float

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) picked from the
    /// `original_inference_steps` distillation schedule.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        if configuration.thresholding == true {
            throw SamplerError.unsupported(scheduler: Self.name, option: "thresholding")
        }
        schedule = try NoiseSchedule(
            configuration, scheduler: Self.name, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "scaled_linear")
        let train = schedule.trainTimesteps
        let original = configuration.originalInferenceSteps ?? 50
        guard original <= train, steps >= 1, steps <= original else {
            throw SamplerError.invalidSteps(
                scheduler: Self.name, "steps must be in 1...original_inference_steps (\(original) ≤ \(train))")
        }
        let k = train / original
        let origin = (1...original).reversed().map { $0 * k - 1 }
        trainTimesteps = NoiseSchedule.numpyLinspace(0, Double(origin.count), steps, endpoint: false).map {
            origin[Int($0.rounded(.down))]
        }
        inferenceSteps = steps
        timesteps = trainTimesteps.map { Float($0) }
        finalAlphaCumprod = configuration.setAlphaToOne ?? true ? 1 : schedule.alphasCumprod[0]
        predictionType = try diffusionPredictionType(configuration, Self.name)
        clipRange = configuration.clipSample == true ? Float(configuration.clipSampleRange ?? 1) : nil
        timestepScaling = Float(configuration.timestepScaling ?? 10)
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
    }

    public func scaleModelInput(_ sample: [Float]) -> [Float] { sample }

    /// One consistency step; draws one noise tensor on every step but the last, as diffusers does.
    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        let count = try checkedCount(Self.name, modelOutput, sample)
        let t = trainTimesteps[stepIndex]
        let previous = stepIndex + 1 < trainTimesteps.count ? trainTimesteps[stepIndex + 1] : t
        let alpha = schedule.alphasCumprod[t]
        let alphaPrevious = previous >= 0 ? schedule.alphasCumprod[previous] : finalAlphaCumprod

        // Boundary condition scalings c_skip, c_out with σ_data = 0.5 (`0.25 / x` is `x.reciprocal() * 0.25`).
        let scaled = Float(t) * timestepScaling
        let skip = (1 / (scaled * scaled + 0.25)) * 0.25
        let out = scaled / (scaled * scaled + 0.25).squareRoot()

        let original = predictOriginal(modelOutput, sample: sample, alphaCumprod: alpha, predictionType,
                                       clip: clipRange)
        let denoised = original.combined(sample) { x0, x in out * x0 + skip * x }
        var next = denoised
        if stepIndex != inferenceSteps - 1 {
            let signal = alphaPrevious.squareRoot(), spread = (1 - alphaPrevious).squareRoot()
            next = denoised.combined(noise.normal(count: count)) { x0, n in signal * x0 + spread * n }
        }
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        try addAlphaNoise(
            original, noise: noise, alphaCumprod: schedule.alphasCumprod[trainTimesteps[index]], Self.name)
    }
}
