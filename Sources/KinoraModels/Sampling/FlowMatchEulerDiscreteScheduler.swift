import Foundation

/// Euler's method on the flow-matching ODE dx/dσ = v, where x_σ = (1 − σ)·x₀ + σ·ε and the model predicts the velocity
/// v = ε − x₀: x_next = x + (σ_next − σ)·v on a shifted σ schedule. diffusers' `FlowMatchEulerDiscreteScheduler`
/// (Wan, SD3, Flux with a fixed shift), with its `shift_terminal` stretch and its `stochastic_sampling` variant, which
/// re-noises the x₀ estimate to σ_next with fresh noise instead.
public struct FlowMatchEulerDiscreteScheduler: Sampler {
    public static let name = "FlowMatchEulerDiscreteScheduler"
    public let order = 1
    public let inferenceSteps: Int
    /// σ·1000 per step (float32, fractional).
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float = 1
    public private(set) var stepIndex = 0
    private let stochastic: Bool

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration`.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        try Self.checkSupported(configuration)
        let train = configuration.numTrainTimesteps ?? 1000
        guard train >= 1 else {
            throw SamplerError.invalidOption(scheduler: Self.name, "num_train_timesteps must be positive, got \(train)")
        }
        try checkedSteps(Self.name, steps, trainTimesteps: train)
        let shift = try FlowSigmas.checkedShift(configuration.shift ?? 1, option: "shift", scheduler: Self.name)
        let terminal = try FlowSigmas.checkedTerminal(configuration.shiftTerminal, scheduler: Self.name)

        // __init__: the training sigmas t/N for t = N…1 are shifted in float32 torch arithmetic (the Python shift
        // rounded to float32); only their ends survive, as σ_max and σ_min of the inference schedule.
        let trainShift = Float(shift)
        let trainShiftLess = Float(shift - 1)
        func trainingSigma(_ t: Int) -> Double {
            let sigma = Float(t) / Float(train)
            return Double(trainShift * sigma / (1 + trainShiftLess * sigma))
        }
        let sigmaMax = trainingSigma(train)
        let sigmaMin = trainingSigma(1)
        // set_timesteps: linspace between the shifted ends in timesteps, back to σ, shifted again (so σ_min is shifted
        // twice, as in diffusers), all float64; then float32 σ and t = σ·N in float32.
        let unshifted = NoiseSchedule.numpyLinspace(sigmaMax * Double(train), sigmaMin * Double(train), steps)
            .map { $0 / Double(train) }
        let sigmas = FlowSigmas.shiftedAndStretched(unshifted, shift: shift, terminal: terminal).map { Float($0) }
        inferenceSteps = steps
        timesteps = sigmas.map { $0 * Float(train) }
        self.sigmas = sigmas + [0]
        stochastic = configuration.stochasticSampling ?? false
    }

    /// Refuses the options this port does not implement, naming each.
    static func checkSupported(_ configuration: SchedulerConfiguration) throws {
        let unsupported: [(Bool?, String)] = [
            (configuration.useDynamicShifting, "use_dynamic_shifting"), (configuration.invertSigmas, "invert_sigmas"),
            (configuration.useKarrasSigmas, "use_karras_sigmas"),
            (configuration.useExponentialSigmas, "use_exponential_sigmas"),
            (configuration.useBetaSigmas, "use_beta_sigmas"),
        ]
        for (flag, option) in unsupported where flag == true {
            throw SamplerError.unsupported(scheduler: name, option: option)
        }
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
    }

    /// The identity: flow-matching models take x_σ as it is.
    public func scaleModelInput(_ sample: [Float]) -> [Float] { sample }

    /// One Euler step, or with `stochastic_sampling` (1 − σ_next)·x₀ + σ_next·ε with one fresh noise tensor per step.
    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        let count = try checkedCount(Self.name, modelOutput, sample)
        let sigma = sigmas[stepIndex]
        let sigmaNext = sigmas[stepIndex + 1]
        let denoised = sample.combined(modelOutput) { x, v in x - sigma * v }
        let next: [Float]
        if stochastic {
            next = FlowSigmas.noised(denoised, noise: noise.normal(count: count), sigma: sigmaNext)
        } else {
            let dt = sigmaNext - sigma
            next = sample.combined(modelOutput) { x, v in x + dt * v }
        }
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    /// `scale_noise`: σ·ε + (1 − σ)·x₀ at `sigmas[index]`.
    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        _ = try checkedCount(Self.name, noise, original)
        try checkBeginIndex(index, Self.name, timesteps.count)
        return FlowSigmas.noised(original, noise: noise, sigma: sigmas[index])
    }
}
