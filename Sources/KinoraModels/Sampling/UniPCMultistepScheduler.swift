import Foundation

/// UniPC (Zhao et al. 2023): a multistep predictor (UniP) whose result the next step's model evaluation corrects
/// (UniC) before predicting again, with B(h) = e^(−h) − 1 ("bh2") — in the flow-matching form the Wan video models
/// ship with: diffusers' `UniPCMultistepScheduler` with `use_flow_sigmas`, `prediction_type="flow_prediction"` and
/// `predict_x0`, of order 1 or 2, on the shifted σ schedule of `flow_shift`.
///
/// In that form α = 1 − σ and x₀ = x − σ·v, and λ = log α − log σ is the half log-SNR the solver steps in.
public struct UniPCMultistepScheduler: Sampler {
    public static let name = "UniPCMultistepScheduler"
    public let order = 1
    public let inferenceSteps: Int
    /// Integer timesteps ⌊σ·1000⌋ (diffusers' int64 cast), as floats.
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float = 1
    public private(set) var stepIndex = 0
    private let solverOrder: Int
    private let lowerOrderFinal: Bool
    private let uncorrectedSteps: Set<Int>
    /// The x₀ predictions of the last `solverOrder` steps, oldest first (`model_outputs`).
    private var denoisedHistory: [[Float]] = []
    /// The sample the last predictor started from (`last_sample`), which the corrector re-integrates from.
    private var lastSample: [Float]?
    /// The order of the last predictor (`this_order`), which the corrector uses too.
    private var lastOrder = 0
    private var lowerOrderSteps = 0

    /// The schedule of `steps` inference steps (`set_timesteps(steps)`) for `configuration`.
    public init(configuration: SchedulerConfiguration, steps: Int) throws {
        try Self.checkSupported(configuration)
        let train = configuration.numTrainTimesteps ?? 1000
        guard train >= 1 else {
            throw SamplerError.invalidOption(scheduler: Self.name, "num_train_timesteps must be positive, got \(train)")
        }
        try checkedSteps(Self.name, steps, trainTimesteps: train)
        let shift = try FlowSigmas.checkedShift(
            configuration.flowShift ?? 1, option: "flow_shift", scheduler: Self.name)
        let terminal = try FlowSigmas.checkedTerminal(configuration.shiftTerminal, scheduler: Self.name)
        solverOrder = configuration.solverOrder ?? 2
        guard solverOrder == 1 || solverOrder == 2 else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "solver_order \(solverOrder)")
        }
        let finalSigma = configuration.finalSigmasType ?? "zero"
        guard finalSigma == "zero" || finalSigma == "sigma_min" else {
            throw SamplerError.unsupported(scheduler: Self.name, option: "final_sigmas_type \(finalSigma)")
        }
        lowerOrderFinal = configuration.lowerOrderFinal ?? true
        if !lowerOrderFinal, solverOrder == 2, finalSigma == "zero" {
            // The last step would be of order 2 towards σ = 0, where h is infinite: diffusers returns ±inf.
            throw SamplerError.unsupported(
                scheduler: Self.name, option: "lower_order_final false with solver_order 2 and final_sigmas_type zero")
        }

        // float64 NumPy: σ from 1 to 1/N (the last of steps + 1 dropped), shifted, the first pulled just below 1 so
        // that log α stays finite; timesteps truncate σ·N to integers. `timestep_spacing` makes timesteps that the flow
        // sigmas then replace, so it changes nothing here.
        var sigmas = Array(NoiseSchedule.numpyLinspace(1, 1 / Double(train), steps + 1).dropLast())
        sigmas = FlowSigmas.shiftedAndStretched(sigmas, shift: shift, terminal: terminal)
        let epsilon = 1e-6
        if abs(sigmas[0] - 1) < epsilon { sigmas[0] -= epsilon }
        inferenceSteps = steps
        timesteps = sigmas.map { Float(Int($0 * Double(train))) }
        // "sigma_min" repeats the last σ, which makes the last step leave the sample as it is (h = 0).
        let last = finalSigma == "zero" ? 0 : sigmas[sigmas.count - 1]
        self.sigmas = (sigmas + [last]).map { Float($0) }
        uncorrectedSteps = Set(configuration.disableCorrector ?? [])
    }

    /// Refuses every configuration outside the flow-matching data-prediction bh2 form, naming the option.
    static func checkSupported(_ configuration: SchedulerConfiguration) throws {
        let prediction = configuration.predictionType ?? .epsilon  // diffusers' defaults, as for the flags
        let flowForm: [(Bool, String)] = [
            (configuration.useFlowSigmas == true, "use_flow_sigmas \(configuration.useFlowSigmas ?? false)"),
            (prediction == .flowPrediction, "prediction_type \(prediction.rawValue)"),
            (configuration.predictX0 ?? true, "predict_x0 false"),
        ]
        for (holds, setting) in flowForm where !holds {
            throw SamplerError.invalidOption(
                scheduler: name,
                "only the flow-matching form (use_flow_sigmas true, prediction_type flow_prediction, predict_x0 true) "
                    + "is implemented, got \(setting)")
        }
        // diffusers registers the DPM-Solver solver types as bh2; bh1 (B(h) = h) is infinite on a final σ of 0.
        let solverType = configuration.solverType ?? "bh2"
        guard ["bh2", "midpoint", "heun", "logrho"].contains(solverType) else {
            throw SamplerError.unsupported(scheduler: name, option: "solver_type \(solverType)")
        }
        let unsupported: [(Bool?, String)] = [
            (configuration.useDynamicShifting, "use_dynamic_shifting"), (configuration.thresholding, "thresholding"),
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
        denoisedHistory = []
        lastSample = nil
        lastOrder = 0
        lowerOrderSteps = 0
    }

    /// The identity (`scale_model_input`).
    public func scaleModelInput(_ sample: [Float]) -> [Float] { sample }

    /// Corrects `sample` (the last prediction) with this model output unless the corrector is disabled for the
    /// previous step, then predicts the next sample; orders drop to 1 for the first step and, with
    /// `lower_order_final`, for the last.
    public mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    {
        guard stepIndex < timesteps.count else { throw SamplerError.finished(scheduler: Self.name) }
        _ = try checkedCount(Self.name, modelOutput, sample)
        let sigma = sigmas[stepIndex]
        let denoised = sample.combined(modelOutput) { x, v in x - sigma * v }
        var current = sample
        if stepIndex > 0, !uncorrectedSteps.contains(stepIndex - 1), let lastSample {
            current = corrected(lastSample, denoised: denoised)
        }
        denoisedHistory = Array((denoisedHistory + [denoised]).suffix(solverOrder))
        let finalOrder = lowerOrderFinal ? min(solverOrder, timesteps.count - stepIndex) : solverOrder
        lastOrder = min(finalOrder, lowerOrderSteps + 1)
        lastSample = current
        let next = predicted(current)
        lowerOrderSteps = min(lowerOrderSteps + 1, solverOrder)
        stepIndex += 1
        return SamplerStep(sample: next, denoised: denoised)
    }

    /// `add_noise` with α = 1 − σ: (1 − σ)·x₀ + σ·ε at `sigmas[index]`.
    public func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float] {
        _ = try checkedCount(Self.name, noise, original)
        try checkBeginIndex(index, Self.name, timesteps.count)
        return FlowSigmas.noised(original, noise: noise, sigma: sigmas[index])
    }

    /// λ = log α − log σ with α = 1 − σ, in float32.
    private func lambda(_ index: Int) -> Float {
        let sigma = sigmas[index]
        return Foundation.log(1 - sigma) - Foundation.log(sigma)
    }

    /// `multistep_uni_p_bh_update` from σ[i] to σ[i + 1] with m0 = the newest x₀ (and m1 the one before, at order 2):
    /// x_t = (σ_t/σ_s)·x − α_t·(e^(−h) − 1)·m0 − α_t·B(h)·ρ·D1, with ρ = 1/2 and D1 = (m1 − m0)/r1.
    private func predicted(_ sample: [Float]) -> [Float] {
        let index = stepIndex
        let sigmaT = sigmas[index + 1]
        let sigmaS = sigmas[index]
        let lambdaS = lambda(index)
        let h = lambda(index + 1) - lambdaS
        let terms = BhTerms(h: h)
        let sampleScale = sigmaT / sigmaS
        let denoisedScale = (1 - sigmaT) * terms.hPhi1
        let m0 = denoisedHistory[denoisedHistory.count - 1]
        let base = sample.combined(m0) { x, d in sampleScale * x - denoisedScale * d }
        guard lastOrder == 2 else { return base }
        let rk = (lambda(index - 1) - lambdaS) / h
        let m1 = denoisedHistory[denoisedHistory.count - 2]
        let correctionScale = (1 - sigmaT) * terms.bh
        return (0..<sample.count).map { i in
            let d1 = (m1[i] - m0[i]) / rk
            return base[i] - correctionScale * (0.5 * d1)
        }
    }

    /// `multistep_uni_c_bh_update`: re-integrates from σ[i − 1] (`lastSample`) to σ[i] with the x₀ prediction of the
    /// new model evaluation as well, at the order of the last predictor; the ρ weights solve R·ρ = b.
    private func corrected(_ lastSample: [Float], denoised modelT: [Float]) -> [Float] {
        let index = stepIndex
        let sigmaT = sigmas[index]
        let sigmaS = sigmas[index - 1]
        let lambdaS = lambda(index - 1)
        let h = lambda(index) - lambdaS
        let terms = BhTerms(h: h)
        let sampleScale = sigmaT / sigmaS
        let denoisedScale = (1 - sigmaT) * terms.hPhi1
        let correctionScale = (1 - sigmaT) * terms.bh
        let m0 = denoisedHistory[denoisedHistory.count - 1]
        guard lastOrder == 2 else {
            return (0..<lastSample.count).map { i in
                let base = sampleScale * lastSample[i] - denoisedScale * m0[i]
                return base - correctionScale * (0.5 * (modelT[i] - m0[i]))
            }
        }
        let rk = (lambda(index - 2) - lambdaS) / h
        let m1 = denoisedHistory[denoisedHistory.count - 2]
        let (rho0, rho1) = terms.correctorWeights(rk: rk)
        return (0..<lastSample.count).map { i in
            let base = sampleScale * lastSample[i] - denoisedScale * m0[i]
            let d1 = (m1[i] - m0[i]) / rk
            return base - correctionScale * (rho0 * d1 + rho1 * (modelT[i] - m0[i]))
        }
    }
}

/// The float32 scalars of one UniPC bh2 update in the data prediction, evaluated as diffusers' 0-d tensors are.
private struct BhTerms {
    /// −h (`hh`).
    let hh: Float
    /// h·φ₁(h) = e^(−h) − 1 (`h_phi_1`).
    let hPhi1: Float
    /// B(h) = e^(−h) − 1 (bh2).
    let bh: Float

    init(h: Float) {
        hh = -h
        hPhi1 = Foundation.expm1(hh)
        bh = Foundation.expm1(hh)
    }

    /// The order-2 corrector's ρ: the solution of [[1, 1], [r1, 1]]·ρ = b with b_k = h·φ_k·k!/B(h), solved as LAPACK's
    /// `sgesv` does for `torch.linalg.solve` (partial pivoting, products with the pivots' reciprocals).
    func correctorWeights(rk: Float) -> (Float, Float) {
        var hPhiK = hPhi1 / hh - 1
        let b0 = hPhiK * 1 / bh
        hPhiK = hPhiK / hh - 0.5
        let b1 = hPhiK * 2 / bh
        return solve2x2(a00: 1, a01: 1, a10: rk, a11: 1, b0: b0, b1: b1)
    }
}

/// `sgesv` on a 2×2 system as MKL computes it: the row with the larger first entry pivots (the first on a tie), the
/// multiplier and the back substitution multiply by reciprocals, the updates are not fused.
func solve2x2(a00: Float, a01: Float, a10: Float, a11: Float, b0: Float, b1: Float) -> (Float, Float) {
    let swap = abs(a10) > abs(a00)
    let (p00, p01, p10, p11) = swap ? (a10, a11, a00, a01) : (a00, a01, a10, a11)
    let (y0, c1) = swap ? (b1, b0) : (b0, b1)
    let pivotReciprocal = 1 / p00
    let multiplier = p10 * pivotReciprocal
    let u11 = p11 - multiplier * p01
    let y1 = c1 - multiplier * y0
    let x1 = y1 * (1 / u11)
    let x0 = (y0 - p01 * x1) * pivotReciprocal
    return (x0, x1)
}
