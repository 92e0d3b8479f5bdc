import Foundation

/// diffusers' `CosineDPMSolverMultistepScheduler`, Stable Audio Open 1.0's sampler: SDE-DPM-Solver++ of order 2
/// (midpoint or Heun) over an EDM-style σ schedule — exponential (log-linear from `sigma_max` 500 down to `sigma_min`
/// 0.3, Stable Audio's) or Karras — with v-prediction preconditioned as EDM does (`c_in = 1/√(σ² + σ_d²)`,
/// `x₀ = σ_d²/(σ² + σ_d²)·x − σ·σ_d/√(σ² + σ_d²)·v`) and timesteps `atan(σ)·2/π`. The last step (to σ = 0) is first
/// order.
///
/// The SDE draws one standard-normal tensor per step. diffusers takes it from a `torchsde` Brownian tree over
/// [σ_min, σ_max] seeded by the generator (its increments over successive steps, each divided by √|Δσ|, are
/// independent standard normals); this sampler takes it from the caller's `NoiseSource` in step order — the same
/// distribution, not the same numbers, so a seed reproduces Kinora's audio, not diffusers'. Given the same noise,
/// every step equals diffusers' (checked with diffusers' scheduler fed that noise).
public struct CosineDPMSolverMultistepScheduler: Sampler {
    public static let name = "CosineDPMSolverMultistepScheduler"
    public let order = 1
    public let inferenceSteps: Int
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float
    public private(set) var stepIndex = 0
    private let sigmaData: Float
    private let predictionType: PredictionType
    private let solverOrder: Int
    private let heun: Bool
    private let lowerOrderFinal: Bool
    private let eulerAtFinal: Bool
    private let finalSigmaZero: Bool
    /// The converted outputs (x₀) of the last `solverOrder` steps, newest last.
    private var modelOutputs: [[Float]] = []
    private var lowerOrderCount = 0

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration` (diffusers' defaults:
    /// σ 0.3…500, σ_d 1, exponential, order 2, v-prediction, midpoint, final σ zero).
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        let trainTimesteps = configuration.numTrainTimesteps ?? 1000
        try checkedSteps(Self.name, steps, trainTimesteps: trainTimesteps)
        let sigmaMin = configuration.sigmaMin ?? 0.3
        let sigmaMax = configuration.sigmaMax ?? 500
        guard sigmaMin > 0, sigmaMax > sigmaMin, sigmaMax.isFinite else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "sigma_min \(sigmaMin), sigma_max \(sigmaMax)")
        }
        let schedule = configuration.sigmaSchedule ?? "exponential"
        var sigmas: [Float]
        switch schedule {
        case "exponential":
            sigmas = NoiseSchedule.linspace(Float(log(sigmaMin)), Float(log(sigmaMax)), steps).map { expf($0) }
            sigmas.reverse()
        case "karras":
            let rho = configuration.rho ?? 7
            let (minimum, maximum) = (pow(sigmaMin, 1 / rho), pow(sigmaMax, 1 / rho))
            sigmas = NoiseSchedule.linspace(0, 1, steps).map {
                Float(pow(maximum + Double($0) * (minimum - maximum), rho))
            }
        default:
            throw SamplerError.unsupported(scheduler: Self.name, option: "sigma_schedule \(schedule)")
        }
        let finalType = configuration.finalSigmasType ?? "zero"
        guard finalType == "zero" || finalType == "sigma_min" else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "final_sigmas_type \(finalType)")
        }
        let order = configuration.solverOrder ?? 2
        guard order == 1 || order == 2 else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "solver_order \(order)")
        }
        let solver = configuration.solverType ?? "midpoint"
        guard ["midpoint", "heun", "logrho", "bh1", "bh2"].contains(solver) else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "solver_type \(solver)")
        }
        let prediction = configuration.predictionType ?? .vPrediction
        guard prediction == .vPrediction || prediction == .epsilon else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "prediction_type \(prediction.rawValue)")
        }
        inferenceSteps = steps
        timesteps = sigmas.map { atanf($0) / Float.pi * 2 }
        self.sigmas = sigmas + [finalType == "zero" ? 0 : Float(sigmaMin)]
        initNoiseSigma = Float((sigmaMax * sigmaMax + 1).squareRoot())
        sigmaData = Float(configuration.sigmaData ?? 1)
        predictionType = prediction
        solverOrder = order
        heun = solver == "heun"
        lowerOrderFinal = configuration.lowerOrderFinal ?? true
        eulerAtFinal = configuration.eulerAtFinal ?? false
        finalSigmaZero = finalType == "zero"
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
    }

    /// `sample · c_in`, c_in = 1/√(σ² + σ_d²).
    public func scaleModelInput(_ sample: [Float]) -> [Float] {
        let sigma = sigmas[min(stepIndex, sigmas.count - 1)]
        let scale = 1 / (sigma * sigma + sigmaData * sigmaData).squareRoot()
        return sample.map { $0 * scale }
    }

    /// One SDE-DPM-Solver++ step; draws one standard-normal tensor of the sample's size on every step.
    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        let count = try checkedCount(Self.name, modelOutput, sample)
        let steps = timesteps.count
        let lowerFinal =
            stepIndex == steps - 1 && (eulerAtFinal || (lowerOrderFinal && steps < 15) || finalSigmaZero)
        let sigma = sigmas[stepIndex]
        // EDM preconditioning of the output: the clean estimate x₀.
        let variance = sigma * sigma + sigmaData * sigmaData
        let skip = sigmaData * sigmaData / variance
        let out = (predictionType == .vPrediction ? -sigma : sigma) * sigmaData / variance.squareRoot()
        let denoised = sample.combined(modelOutput) { x, v in skip * x + out * v }
        modelOutputs.append(denoised)
        if modelOutputs.count > solverOrder { modelOutputs.removeFirst() }
        let drawn = noise.normal(count: count)

        let sigmaNext = sigmas[stepIndex + 1]
        let lambdaNext = -logf(sigmaNext)
        let lambda = -logf(sigma)
        let h = lambdaNext - lambda
        let decay = sigmaNext / sigma * expf(-h)
        let gain = 1 - expf(-2 * h)
        let spread = sigmaNext * (1 - expf(-2 * h)).squareRoot()
        let next: [Float]
        if solverOrder == 1 || lowerOrderCount < 1 || lowerFinal {
            next = (0..<count).map { decay * sample[$0] + gain * denoised[$0] + spread * drawn[$0] }
        } else {
            // Second order (diffusers' `lower_order_second` takes this same update at order 2).
            let previous = modelOutputs[modelOutputs.count - 2]
            let lambdaPrevious = -logf(sigmas[stepIndex - 1])
            let r0 = (lambda - lambdaPrevious) / h
            let slope = heun ? (1 - expf(-2 * h)) / (-2 * h) + 1 : 0.5 * gain
            next = (0..<count).map { index in
                let d1 = (1 / r0) * (denoised[index] - previous[index])
                return decay * sample[index] + gain * denoised[index] + slope * d1 + spread * drawn[index]
            }
        }
        if lowerOrderCount < solverOrder { lowerOrderCount += 1 }
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    /// `add_noise`: `original + noise · σ` at step `index`.
    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        guard index >= 0, index < timesteps.count else {
            throw SamplerError.invalidSteps(scheduler: Self.name, "step \(index) outside 0..<\(timesteps.count)")
        }
        let sigma = sigmas[index]
        return original.combined(noise) { x, n in x + n * sigma }
    }
}
