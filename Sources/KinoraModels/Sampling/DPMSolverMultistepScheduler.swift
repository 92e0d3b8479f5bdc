import Foundation

/// DPM-Solver++ multistep (Lu et al. 2022) of order 1 or 2 — "DPM++ 2M", and with Karras sigmas "DPM++ 2M Karras";
/// `sde-dpmsolver++` is its stochastic variant ("DPM++ 2M SDE"). diffusers' `DPMSolverMultistepScheduler`.
public struct DPMSolverMultistepScheduler: Sampler {
    public static let name = "DPMSolverMultistepScheduler"
    public let order = 1
    public let inferenceSteps: Int
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float = 1
    public private(set) var stepIndex = 0
    private let predictionType: PredictionType
    private let stochastic: Bool
    private let solverOrder: Int
    private let heunSolver: Bool
    private let lowerOrderFinal: Bool
    private let eulerAtFinal: Bool
    private let finalSigmaIsZero: Bool
    /// The x₀ predictions of the previous and current step (`model_outputs`).
    private var previousDenoised: [Float]?
    private var lowerOrderSteps = 0

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration`.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        try rejectSigmaVariants(configuration, Self.name)
        let schedule = try NoiseSchedule(
            configuration, scheduler: Self.name, betaStart: 0.0001, betaEnd: 0.02, betaSchedule: "linear")
        let train = schedule.trainTimesteps
        try checkedSteps(Self.name, steps, trainTimesteps: train)
        switch configuration.algorithmType ?? "dpmsolver++" {
        case "dpmsolver++": stochastic = false
        case "sde-dpmsolver++": stochastic = true
        case let other: throw SamplerError.unsupported(scheduler: Self.name, option: "algorithm_type \(other)")
        }
        solverOrder = configuration.solverOrder ?? 2
        guard solverOrder == 1 || solverOrder == 2 else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "solver_order \(solverOrder)")
        }
        switch configuration.solverType ?? "midpoint" {
        case "midpoint", "logrho", "bh1", "bh2": heunSolver = false
        case "heun": heunSolver = true
        case let other: throw SamplerError.unsupported(scheduler: Self.name, option: "solver_type \(other)")
        }
        if let variance = configuration.varianceType {
            throw SamplerError.unsupported(scheduler: Self.name, option: "variance_type \(variance)")
        }
        let finalSigma = configuration.finalSigmasType ?? "zero"
        guard finalSigma == "zero" || finalSigma == "sigma_min" else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "final_sigmas_type \(finalSigma)")
        }

        let last = train - schedule.clippedTimesteps(lambdaMin: configuration.lambdaMinClipped ?? -.infinity)
        var timesteps: [Int]
        switch configuration.timestepSpacing ?? .linspace {
        case .linspace:
            timesteps = NoiseSchedule.numpyLinspace(0, Double(last - 1), steps + 1).reversed().dropLast().map {
                Int($0.rounded(.toNearestOrEven))
            }
        case .leading:
            let ratio = last / (steps + 1)
            timesteps = (1...steps).reversed().map { $0 * ratio + (configuration.stepsOffset ?? 0) }
        case .trailing:
            timesteps = NoiseSchedule.trailing(steps: steps, from: last, trainTimesteps: train)
        }
        var sigmas: [Double]
        if configuration.useKarrasSigmas == true {
            sigmas = NoiseSchedule.karrasSigmas(
                sigmaMin: Double(schedule.sigmas[0]), sigmaMax: Double(schedule.sigmas[train - 1]), steps: steps)
            let rounds = (configuration.betaSchedule ?? "linear") != "squaredcos_cap_v2"
            timesteps = sigmas.map {
                let t = schedule.timestep(forSigma: $0)
                return Int(rounds ? t.rounded(.toNearestOrEven) : t)
            }
        } else {
            sigmas = schedule.interpolatedSigmas(at: timesteps.map(Double.init))
        }
        sigmas.append(finalSigma == "zero" ? 0 : Double(schedule.sigmas[0]))
        inferenceSteps = timesteps.count
        self.timesteps = timesteps.map { Float($0) }
        self.sigmas = sigmas.map { Float($0) }
        predictionType = try diffusionPredictionType(configuration, Self.name)
        lowerOrderFinal = configuration.lowerOrderFinal ?? true
        eulerAtFinal = configuration.eulerAtFinal ?? false
        finalSigmaIsZero = finalSigma == "zero"
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try checkBeginIndex(index, Self.name, timesteps.count)
        stepIndex = index
        previousDenoised = nil
        lowerOrderSteps = 0
    }

    public func scaleModelInput(_ sample: [Float]) -> [Float] { sample }

    /// One multistep update; the SDE variant draws one noise tensor per step (the last one included).
    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        let count = try checkedCount(Self.name, modelOutput, sample)
        let steps = timesteps.count
        let finalStep = stepIndex == steps - 1
            && (eulerAtFinal || (lowerOrderFinal && steps < 15) || finalSigmaIsZero)

        // convert_model_output: the data prediction x₀.
        let (alphaS, sigmaS) = Self.alphaSigma(sigmas[stepIndex])
        let denoised: [Float]
        switch predictionType {
        case .epsilon: denoised = sample.combined(modelOutput) { x, eps in (x - sigmaS * eps) / alphaS }
        case .vPrediction: denoised = sample.combined(modelOutput) { x, v in alphaS * x - sigmaS * v }
        case .sample: denoised = modelOutput
        case .flowPrediction: flowPredictionRejected()
        }
        let stepNoise = stochastic ? noise.normal(count: count) : nil

        let (alphaT, sigmaT) = Self.alphaSigma(sigmas[stepIndex + 1])
        let h = Self.lambda(alphaT, sigmaT) - Self.lambda(alphaS, sigmaS)
        let next: [Float]
        if solverOrder == 2, lowerOrderSteps >= 1, !finalStep, let previous = previousDenoised {
            let (alphaS1, sigmaS1) = Self.alphaSigma(sigmas[stepIndex - 1])
            let r0 = (Self.lambda(alphaS, sigmaS) - Self.lambda(alphaS1, sigmaS1)) / h
            let inverse = 1 / r0
            let d1 = denoised.combined(previous) { m0, m1 in inverse * (m0 - m1) }
            next = secondOrder(sample, denoised, d1, alphaT: alphaT, sigmaT: sigmaT, sigmaS: sigmaS, h: h, stepNoise)
        } else {
            next = firstOrder(sample, denoised, alphaT: alphaT, sigmaT: sigmaT, sigmaS: sigmaS, h: h, stepNoise)
        }
        previousDenoised = denoised
        lowerOrderSteps = min(lowerOrderSteps + 1, solverOrder)
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        _ = try checkedCount(Self.name, noise, original)
        let (alpha, sigma) = Self.alphaSigma(sigmas[index])
        return original.combined(noise) { x, n in alpha * x + sigma * n }
    }

    /// `_sigma_to_alpha_sigma_t`: α = 1/√(σ² + 1), σₜ = σ·α.
    private static func alphaSigma(_ sigma: Float) -> (Float, Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    /// λ = log α − log σ (half the log-SNR).
    private static func lambda(_ alpha: Float, _ sigma: Float) -> Float {
        Foundation.log(alpha) - Foundation.log(sigma)
    }

    /// `dpm_solver_first_order_update` (DDIM in the data prediction), float32 in diffusers' evaluation order.
    private func firstOrder(_ sample: [Float], _ denoised: [Float], alphaT: Float, sigmaT: Float, sigmaS: Float,
                            h: Float, _ stepNoise: [Float]?) -> [Float]
    {
        guard let stepNoise else {
            let a = sigmaT / sigmaS, b = alphaT * (Foundation.exp(-h) - 1)
            return sample.combined(denoised) { x, x0 in a * x - b * x0 }
        }
        let decay = Foundation.exp(-2 * h)
        let a = sigmaT / sigmaS * Foundation.exp(-h), b = alphaT * (1 - decay), c = sigmaT * (1 - decay).squareRoot()
        return (0..<sample.count).map { i in a * sample[i] + b * denoised[i] + c * stepNoise[i] }
    }

    /// `multistep_dpm_solver_second_order_update` with D0 = x₀ and D1 = (x₀ − x₀ of the previous step) / r0.
    private func secondOrder(_ sample: [Float], _ d0: [Float], _ d1: [Float], alphaT: Float, sigmaT: Float,
                             sigmaS: Float, h: Float, _ stepNoise: [Float]?) -> [Float]
    {
        guard let stepNoise else {
            let a = sigmaT / sigmaS, b = alphaT * (Foundation.exp(-h) - 1)
            if heunSolver {
                let c = alphaT * ((Foundation.exp(-h) - 1) / h + 1)
                return (0..<sample.count).map { i in a * sample[i] - b * d0[i] + c * d1[i] }
            }
            let c = 0.5 * b
            return (0..<sample.count).map { i in a * sample[i] - b * d0[i] - c * d1[i] }
        }
        let decay = Foundation.exp(-2 * h)
        let a = sigmaT / sigmaS * Foundation.exp(-h), b = alphaT * (1 - decay), e = sigmaT * (1 - decay).squareRoot()
        let c = heunSolver ? alphaT * ((1 - decay) / (-2 * h) + 1) : 0.5 * b
        return (0..<sample.count).map { i in a * sample[i] + b * d0[i] + c * d1[i] + e * stepNoise[i] }
    }
}

extension NoiseSchedule {
    /// The number of highest training timesteps whose λ lies below `lambdaMin` (`lambda_min_clipped`), computed in
    /// float32 as diffusers' `searchsorted` over the flipped λ table.
    func clippedTimesteps(lambdaMin: Double) -> Int {
        guard lambdaMin > -.infinity else { return 0 }
        let lambdas = alphasCumprod.map { Foundation.log($0.squareRoot()) - Foundation.log((1 - $0).squareRoot()) }
        return lambdas.reversed().prefix { Double($0) < lambdaMin }.count
    }
}
