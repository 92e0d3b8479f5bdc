import Foundation

/// stable-audio-tools' ping-pong sampler for distilled rectified-flow models (`sample_flow_pingpong`, reached through
/// `sample_rf(sampler_type="pingpong")`), Stable Audio Open Small's sampler (8 steps, no guidance).
///
/// The model predicts the velocity v at noise level t ∈ [0, 1] (`x_t = (1 − t)·x₀ + t·ε`). Each step denoises fully,
/// `x₀ = x − t_i·v(x, t_i)`, then noises back to the next level with fresh noise, `x = (1 − t_{i+1})·x₀ +
/// t_{i+1}·ε'`; the last level is 0, so the last step returns the denoised latent.
///
/// The levels are `sample_rf`'s: `t = sigmoid(−logsnr)` with logsnr `torch.linspace(logsnr_max, 2, steps + 1)` in
/// float32, `logsnr_max = −6` for `sigma_max` 1 (else `log((1 − σ_max)/σ_max + 1e-6)`), then the first level set to
/// `sigma_max` and the last to 0. Read from `stable_audio_tools/inference/sampling.py` at Stability-AI/
/// stable-audio-tools 50049e379e2fe8e35bffc99e57f23ade1c3471b7 (no distribution shift applies: `sample_rf` passes
/// the levels as `sigmas`, which the sampler uses as given).
///
/// The noise comes from the caller's `NoiseSource` in the reference's order: the starting latent (`torch.randn`),
/// then one tensor per step (`torch.randn_like(x)`), so `TorchRandom` reproduces the reference's numbers.
public struct PingPongFlowSampler: Sendable {
    /// The noise levels, `steps + 1` of them, from `sigmaMax` down to 0.
    public let levels: [Float]
    public private(set) var stepIndex = 0

    /// The schedule of `steps` steps from `sigmaMax` (1: from pure noise).
    public init(steps: Int, sigmaMax: Double = 1) throws {
        guard steps >= 1, steps <= 1000 else {
            throw SamplerError.unsupported(scheduler: "PingPongFlowSampler", option: "\(steps) steps (1...1000)")
        }
        guard sigmaMax > 0, sigmaMax <= 1 else {
            throw SamplerError.unsupported(scheduler: "PingPongFlowSampler", option: "sigma_max \(sigmaMax) (0...1]")
        }
        let logSNRMax = sigmaMax < 1 ? log((1 - sigmaMax) / sigmaMax + 1e-6) : -6
        var levels = NoiseSchedule.linspace(Float(logSNRMax), 2, steps + 1).map { 1 / (1 + expf($0)) }
        levels[0] = Float(sigmaMax)
        levels[steps] = 0
        self.levels = levels
    }

    /// Steps in the schedule.
    public var steps: Int { levels.count - 1 }

    /// The level the model sees at the next step (its `t`), nil once every step is done.
    public var currentTimestep: Float? { stepIndex < steps ? levels[stepIndex] : nil }

    /// The starting latent: `count` standard normals (`sigma_max` 1, no initial audio).
    public func initialLatents(_ noise: inout some NoiseSource, count: Int) -> [Float] {
        noise.normal(count: count)
    }

    /// One step from `sample` with the model's velocity `velocity` at `currentTimestep`; draws the next level's
    /// noise from `noise` (also on the last step, whose level 0 gives it no weight, as the reference draws it).
    public mutating func step(_ velocity: [Float], sample: [Float], noise: inout some NoiseSource) -> [Float] {
        precondition(stepIndex < steps, "PingPongFlowSampler: every step is done")
        precondition(velocity.count == sample.count, "PingPongFlowSampler: velocity and sample differ in size")
        let (level, next) = (levels[stepIndex], levels[stepIndex + 1])
        let fresh = noise.normal(count: sample.count)
        stepIndex += 1
        return (0..<sample.count).map { index in
            let denoised = sample[index] - level * velocity[index]
            return (1 - next) * denoised + next * fresh[index]
        }
    }
}
