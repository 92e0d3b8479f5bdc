import Foundation

/// The training noise schedule of a diffusion model: βₜ, ᾱₜ = ∏(1 − βᵢ) and σₜ = √((1 − ᾱₜ)/ᾱₜ), computed with the
/// same float32/float64 steps as diffusers so that the schedules derived from them match bit for bit.
///
/// `torch.linspace` (float32) evaluates `start + step·i` with a fused multiply-add (how the CPU kernel is compiled),
/// `torch.cumprod` accumulates in double and rounds each prefix to float32, and the sigma tables are float32 torch
/// arithmetic; the inference schedules are then float64 NumPy on those float32 tables.
struct NoiseSchedule: Sendable {
    let alphasCumprod: [Float]
    /// σ for each training timestep, ascending with t (float32, as `((1 - ᾱ) / ᾱ) ** 0.5` in torch).
    let sigmas: [Float]
    /// `np.log(sigmas)` (float32, widened).
    let logSigmas: [Double]

    init(_ configuration: SchedulerConfiguration, scheduler: String, betaStart: Double, betaEnd: Double,
         betaSchedule: String) throws {
        if configuration.rescaleBetasZeroSnr == true {
            throw SamplerError.unsupported(scheduler: scheduler, option: "rescale_betas_zero_snr")
        }
        let count = configuration.numTrainTimesteps ?? 1000
        let start = configuration.betaStart ?? betaStart
        let end = configuration.betaEnd ?? betaEnd
        let betas: [Float]
        if let trained = configuration.trainedBetas {
            betas = trained.map { Float($0) }
        } else {
            switch configuration.betaSchedule ?? betaSchedule {
            case "linear":
                betas = Self.linspace(Float(start), Float(end), count)
            case "scaled_linear":
                betas = Self.linspace(Float(start.squareRoot()), Float(end.squareRoot()), count).map { $0 * $0 }
            case "squaredcos_cap_v2":
                betas = Self.cosineBetas(count)
            case let other:
                throw SamplerError.unsupported(scheduler: scheduler, option: "beta_schedule \(other)")
            }
        }
        var product = 1.0
        alphasCumprod = betas.map { beta in
            product *= Double(1 - beta)
            return Float(product)
        }
        sigmas = alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
        logSigmas = sigmas.map { Double(Self.numpyLog($0)) }
    }

    var trainTimesteps: Int { alphasCumprod.count }

    /// NumPy's float32 `np.log` as its x86 SIMD loop (`simd_log_FLOAT`, AVX2/AVX-512) computes it: a rational
    /// minimax approximation of log(1 + x) on the mantissa, with fused multiply-adds. It is not correctly rounded
    /// (a few ulps off `logf` for ~18% of the SD sigma table), and the Karras timesteps inherit its last bits.
    static func numpyLog(_ value: Float) -> Float {
        guard value > 0, value.isFinite else { return Foundation.log(value) }
        var exponent = Float(value.exponent + 1)
        var x = value.significand / 2
        if x <= Float(0.707106781186547524400844362104849039 as Double) {
            x = x + x
            exponent = exponent - 1
        }
        x = x - 1
        let p: [Double] = [
            0, 9.999999999999998702752e-01, 2.112677543073053063722e+00, 1.480000633576506585156e+00,
            3.808837741388407920751e-01, 2.589979117907922693523e-02,
        ]
        let q: [Double] = [
            1, 2.612677543073109236779e+00, 2.453006071784736363091e+00, 9.864942958519418960339e-01,
            1.546476374983906719538e-01, 5.875095403124574342950e-03,
        ]
        var numerator = Float(p[4]).addingProduct(Float(p[5]), x)
        var denominator = Float(q[4]).addingProduct(Float(q[5]), x)
        for index in (0...3).reversed() {
            numerator = Float(p[index]).addingProduct(numerator, x)
            denominator = Float(q[index]).addingProduct(denominator, x)
        }
        let ln2 = Float(0.693147180559945309417232121458176568 as Double)
        return (numerator / denominator).addingProduct(exponent, ln2)
    }

    /// `torch.linspace(start, end, count, dtype=torch.float32)`.
    static func linspace(_ start: Float, _ end: Float, _ count: Int) -> [Float] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (end - start) / Float(count - 1)
        let halfway = count / 2
        return (0..<count).map { index in
            index < halfway
                ? start.addingProduct(step, Float(index)) : end.addingProduct(-step, Float(count - index - 1))
        }
    }

    /// diffusers' `betas_for_alpha_bar` with the cosine ᾱ of improved DDPM, max β 0.999.
    static func cosineBetas(_ count: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { index in
            let t1 = Double(index) / Double(count), t2 = Double(index + 1) / Double(count)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    /// `np.interp(timesteps, np.arange(len(sigmas)), sigmas)` in float64.
    func interpolatedSigmas(at timesteps: [Double]) -> [Double] {
        timesteps.map { t in
            let last = sigmas.count - 1
            if t <= 0 { return Double(sigmas[0]) }
            if t >= Double(last) { return Double(sigmas[last]) }
            let low = Int(t.rounded(.down))
            if Double(low) == t { return Double(sigmas[low]) }
            let slope = Double(sigmas[low + 1]) - Double(sigmas[low])
            return slope * (t - Double(low)) + Double(sigmas[low])
        }
    }

    /// `_sigma_to_t`: the fractional training timestep of `sigma` by linear interpolation in log σ.
    func timestep(forSigma sigma: Double) -> Double {
        let logSigma = Foundation.log(max(sigma, 1e-10))
        let atOrBelow = logSigmas.reduce(0) { $0 + ($1 <= logSigma ? 1 : 0) }
        let lowIndex = min(max(atOrBelow - 1, 0), logSigmas.count - 2)
        let low = logSigmas[lowIndex], high = logSigmas[lowIndex + 1]
        let w = min(max((low - logSigma) / Double(Float(low) - Float(high)), 0), 1)
        return (1 - w) * Double(lowIndex) + w * Double(lowIndex + 1)
    }

    /// `_convert_to_karras` (Karras et al. 2022, ρ = 7) between `sigmaMin` and `sigmaMax`.
    static func karrasSigmas(sigmaMin: Double, sigmaMax: Double, steps: Int) -> [Double] {
        let rho = 7.0
        let minInverse = Foundation.pow(sigmaMin, 1 / rho), maxInverse = Foundation.pow(sigmaMax, 1 / rho)
        return numpyLinspace(0, 1, steps).map { Foundation.pow(maxInverse + $0 * (minInverse - maxInverse), rho) }
    }

    /// `np.linspace(start, stop, count)` (float64, endpoint included).
    static func numpyLinspace(_ start: Double, _ stop: Double, _ count: Int, endpoint: Bool = true) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(endpoint ? count - 1 : count)
        var values = (0..<count).map { Double($0) * step + start }
        if endpoint { values[count - 1] = stop }
        return values
    }

    /// `np.arange(start, stop, step)` for a negative float step.
    static func numpyArange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let count = max(Int(((stop - start) / step).rounded(.up)), 0)
        guard count > 1 else { return count == 1 ? [start] : [] }
        let delta = (start + step) - start
        return (0..<count).map { $0 == 0 ? start : start + Double($0) * delta }
    }

    /// The inference timesteps of the k-diffusion style schedulers (Euler, Euler ancestral, Heun), descending, as
    /// float64 values before diffusers' float32 cast.
    static func spacedTimesteps(_ spacing: TimestepSpacing, steps: Int, trainTimesteps: Int, stepsOffset: Int)
        -> [Double]
    {
        switch spacing {
        case .linspace:
            return numpyLinspace(0, Double(trainTimesteps - 1), steps).map { Double(Float($0)) }.reversed()
        case .leading:
            let ratio = trainTimesteps / steps
            return (0..<steps).reversed().map { Double($0 * ratio + stepsOffset) }
        case .trailing:
            return trailing(steps: steps, from: trainTimesteps, trainTimesteps: trainTimesteps).map(Double.init)
        }
    }

    /// `np.round(np.arange(last, 0, -train / steps)) - 1`, the "trailing" spacing.
    static func trailing(steps: Int, from last: Int, trainTimesteps: Int) -> [Int] {
        numpyArange(Double(last), 0, -Double(trainTimesteps) / Double(steps)).map {
            Int($0.rounded(.toNearestOrEven)) - 1
        }
    }
}
