import Foundation

/// One step's result: the next sample and the denoiser's estimate of the clean sample (for previews).
public struct SamplerStep: Sendable {
    /// x at the next timestep (`prev_sample`).
    public var sample: [Float]
    /// The predicted clean sample x₀ at this step (`pred_original_sample`; LCM's `denoised`).
    public var denoised: [Float]
}

/// A diffusion sampler as a step iterator the caller drives: it owns the timestep schedule and the solver state,
/// the caller runs the denoiser between steps.
///
/// ```swift
/// var sampler = try EulerDiscreteScheduler(configuration: config, steps: 30)
/// var random = TorchRandom(seed: 42)
/// var latents = sampler.initialLatents(&random, count: 4 * 128 * 128)
/// while let t = sampler.currentTimestep {
///     let output = try unet(sampler.scaleModelInput(latents), t)      // the caller's denoiser
///     latents = try sampler.step(output, sample: latents, noise: &random).sample
/// }
/// ```
///
/// The per-step arithmetic runs on the host, elementwise over `[Float]` in float32 in the order diffusers
/// evaluates it (with float32 scalars computed as the torch 0-d tensors are): a latent is at most a few hundred
/// thousand values (4×128×128 for SDXL), so a step costs well under a millisecond next to a UNet evaluation, and
/// the host path reproduces the reference's numbers instead of approximating them.
public protocol Sampler: Sendable {
    /// The diffusers class this sampler reproduces.
    static var name: String { get }
    /// Model evaluations per solver step (2 for Heun); the img2img start index is `t_start · order`.
    var order: Int { get }
    /// The number of inference steps the schedule was made for (`num_inference_steps`).
    var inferenceSteps: Int { get }
    /// The timestep of every model evaluation, in order (Heun repeats the interior ones).
    var timesteps: [Float] { get }
    /// σ per entry of `timesteps` plus the final one, for the σ-parameterised samplers; empty otherwise.
    var sigmas: [Float] { get }
    /// The standard deviation of the initial noise (`init_noise_sigma`).
    var initNoiseSigma: Float { get }
    /// The index into `timesteps` of the next model evaluation.
    var stepIndex: Int { get }
    /// Starts sampling at `index` instead of 0 (diffusers' `set_begin_index`, used by img2img).
    mutating func setBeginIndex(_ index: Int) throws
    /// The denoiser input for the current step (`scale_model_input`).
    func scaleModelInput(_ sample: [Float]) -> [Float]
    /// Advances one model evaluation; `noise` is drawn from only by the stochastic samplers, in diffusers' order.
    mutating func step<Noise: NoiseSource>(_ modelOutput: [Float], sample: [Float], noise: inout Noise) throws
        -> SamplerStep
    /// `add_noise`: `original` noised to the level of `timesteps[index]` (img2img, inpainting).
    func addNoise(_ original: [Float], noise: [Float], atStep index: Int) throws -> [Float]
}

extension Sampler {
    /// The timestep of the next model evaluation, nil once sampling is complete.
    public var currentTimestep: Float? { stepIndex < timesteps.count ? timesteps[stepIndex] : nil }

    /// Seeded initial latents: `count` standard normals times `initNoiseSigma` (diffusers' `prepare_latents`).
    public func initialLatents<Noise: NoiseSource>(_ noise: inout Noise, count: Int) -> [Float] {
        let sigma = initNoiseSigma
        return noise.normal(count: count).map { $0 * sigma }
    }

    /// Prepares img2img the way StableDiffusionImg2ImgPipeline does: of `steps` inference steps the last
    /// `min(Int(steps · strength), steps)` are run, so sampling begins at `t_start · order`; `original` (the encoded
    /// image latents) is noised to that step's level with `noise`. Returns the starting latents.
    public mutating func startImageToImage(original: [Float], noise: [Float], strength: Double) throws -> [Float] {
        let steps = inferenceSteps
        let initTimestep = min(Int(Double(steps) * strength), steps)
        let begin = max(steps - initTimestep, 0) * order
        guard begin < timesteps.count else {
            throw SamplerError.invalidSteps(scheduler: Self.name, "strength \(strength) leaves no step to run")
        }
        try setBeginIndex(begin)
        return try addNoise(original, noise: noise, atStep: begin)
    }
}

extension Sampler {
    /// The σ-parameterised samplers' `scale_model_input`: x / √(σ² + 1) at the current step.
    func sigmaScaledInput(_ sample: [Float]) -> [Float] {
        let sigma = sigmas[min(stepIndex, sigmas.count - 1)]
        let scale = (sigma * sigma + 1).squareRoot()
        return sample.map { $0 / scale }
    }
}

/// The α-parameterised samplers' `pred_original_sample` (DDIM, LCM): x₀ from the model output at ᾱ = `alpha`,
/// clipped to ±`range` when the configuration asks for `clip_sample`.
func predictOriginal(_ modelOutput: [Float], sample: [Float], alphaCumprod alpha: Float,
                     _ predictionType: PredictionType, clip range: Float?) -> [Float] {
    let sqrtAlpha = alpha.squareRoot(), sqrtBeta = (1 - alpha).squareRoot()
    let original: [Float]
    switch predictionType {
    case .epsilon: original = sample.combined(modelOutput) { x, eps in (x - sqrtBeta * eps) / sqrtAlpha }
    case .vPrediction: original = sample.combined(modelOutput) { x, v in sqrtAlpha * x - sqrtBeta * v }
    case .sample: original = modelOutput
    case .flowPrediction: flowPredictionRejected()
    }
    guard let range else { return original }
    return original.map { min(max($0, -range), range) }
}

/// Classifier-free guidance: `uncond + scale · (cond − uncond)`, elementwise in float32 as the pipelines compute it.
public func classifierFreeGuidance(unconditional: [Float], conditional: [Float], scale: Float) -> [Float] {
    precondition(unconditional.count == conditional.count, "guidance inputs differ in size")
    return zip(unconditional, conditional).map { uncond, cond in uncond + scale * (cond - uncond) }
}

/// Elementwise helpers for the step arithmetic.
extension Array where Element == Float {
    func combined(_ other: [Float], _ body: (Float, Float) -> Float) -> [Float] {
        zip(self, other).map(body)
    }
}

/// Checks a step's inputs and returns their element count.
func checkedCount(_ scheduler: String, _ modelOutput: [Float], _ sample: [Float]) throws -> Int {
    guard modelOutput.count == sample.count else {
        throw SamplerError.sizeMismatch(
            scheduler: scheduler, "model output has \(modelOutput.count) values, sample \(sample.count)")
    }
    return sample.count
}

/// The prediction type of a diffusion (ᾱ- or σ-parameterised) sampler: flow prediction has no form there, only in the
/// flow-matching samplers, so it is refused when the sampler is made.
func diffusionPredictionType(_ configuration: SchedulerConfiguration, _ scheduler: String) throws -> PredictionType {
    let predictionType = configuration.predictionType ?? .epsilon
    guard predictionType != .flowPrediction else {
        throw SamplerError.unsupported(scheduler: scheduler, option: "prediction_type flow_prediction")
    }
    return predictionType
}

/// Where a diffusion sampler's x₀ or ε conversion meets flow prediction, which `diffusionPredictionType` refused.
func flowPredictionRejected() -> Never {
    preconditionFailure("flow_prediction reached a diffusion sampler, which refuses it when it is made")
}

/// The denoising samplers' common precondition on the step count.
func checkedSteps(_ scheduler: String, _ steps: Int, trainTimesteps: Int) throws {
    guard steps >= 1, steps <= trainTimesteps else {
        throw SamplerError.invalidSteps(scheduler: scheduler, "steps must be in 1...\(trainTimesteps), got \(steps)")
    }
}
