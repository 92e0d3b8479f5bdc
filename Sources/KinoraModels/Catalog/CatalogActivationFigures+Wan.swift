import KinoraGPU

/// Measuring a Wan video family's figures from its memory plan (`WanMemoryPlanner`), stage by stage:
///
/// - text encoder, per token: the text stage's peak less the streamed layer's weights, over the tokens of the prompt
///   and the negative prompt, for prompts of each of `tokens`;
/// - transformer, per latent voxel (latent pixels × latent frames, one pass; guidance runs its two passes one after
///   the other): the denoise stage's peak less its weights and the encoded prompts it holds, every weight resident
///   when the allocator takes them, else streamed;
/// - VAE, per pixel of one frame: the streamed decode of whole frames (one latent frame a call, so the figure does
///   not grow with the clip's length) less the decoder's weights, and for image-to-video models the keyframe encode
///   less the encoder's weights and the encoded prompts.
extension CatalogActivationFigures {
    /// A video size to measure at.
    public struct VideoSize: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var frames: Int

        public init(width: Int, height: Int, frames: Int) {
            self.width = width
            self.height = height
            self.frames = frames
        }
    }

    /// The figures of `components` (`name` in the report) at each of `sizes` and prompts of each of `tokens`, with
    /// activations in `precision` (nil: UMT5 and the transformer their weights' type, the VAE f32).
    public static func measure(
        wan components: WanStageComponents, name: String, sizes: [VideoSize], tokens: [Int], method: String,
        precision: ActivationPrecision? = nil, device: GPUDevice
    ) throws -> CatalogActivationFigures {
        var samples: [Sample] = []
        for count in tokens {
            let request = WanGenerationRequest(
                width: 0, height: 0, frames: 1, promptTokens: count, precision: precision)
            let text = try WanMemoryPlanner.textStage(components, request, device: device)
            samples.append(
                Sample(
                    component: "text_encoder", unit: "per_token",
                    setting: "prompt and negative prompt of \(count) tokens each", units: Double(2 * count),
                    bytes: text.peakBytes - text.weightBytes))
        }
        for size in sizes {
            let request = WanGenerationRequest(
                width: size.width, height: size.height, frames: size.frames, imageToVideo: components.imageToVideo,
                precision: precision)
            let latent = try components.latentShape(width: size.width, height: size.height, frames: size.frames)
            let carried = WanMemoryPlanner.conditioningBytes(components, request, memory: device.memory)
            let setting = "\(size.width)x\(size.height), \(size.frames) frames"
            let denoise = try WanMemoryPlanner.denoiseStage(
                components, request, latent: latent, carried: carried, budget: .max, device: device
            ).stage
            samples.append(
                Sample(
                    component: "transformer", unit: "per_latent_voxel",
                    setting: setting + (denoise.tactic.contains("streamed") ? ", weights streamed" : ", resident"),
                    units: Double(latent[2] * latent[3] * latent[4]),
                    bytes: denoise.peakBytes - denoise.weightBytes - denoise.carriedBytes))
            let decode = try WanMemoryPlanner.decodeStage(
                components, latent: latent, tiles: nil, precision: precision, device: device)
            samples.append(
                Sample(
                    component: "vae", unit: "per_pixel", setting: setting + ", streamed decode of whole frames",
                    units: Double(size.width * size.height), bytes: decode.peakBytes - decode.weightBytes))
            if components.imageToVideo {
                let keyframe = try WanMemoryPlanner.keyframeStage(
                    components, request, carried: carried, device: device)
                samples.append(
                    Sample(
                        component: "vae", unit: "per_pixel", setting: setting + ", keyframe encode",
                        units: Double(size.width * size.height),
                        bytes: keyframe.peakBytes - keyframe.weightBytes - keyframe.carriedBytes))
            }
        }
        return CatalogActivationFigures(model: name, device: device.physical.name,
                                        method: method + activationsNote(precision), samples: samples)
    }
}
