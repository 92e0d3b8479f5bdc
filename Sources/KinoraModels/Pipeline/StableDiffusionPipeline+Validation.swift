/// What a generation is asked checked before anything loads or runs: sizes, steps, an initial image and text
/// conditioning handed in from an earlier stage.
extension StableDiffusionPipeline {
    func validate(_ settings: GenerationSettings) throws {
        let sides = 1...GenerationSettings.largestSide
        guard sides.contains(settings.width), sides.contains(settings.height), settings.width % latentScale == 0,
              settings.height % latentScale == 0 else {
            throw PipelineError.invalidSize(width: settings.width, height: settings.height, multiple: latentScale)
        }
        guard settings.steps >= 1 else { throw PipelineError.invalidSteps(settings.steps) }
        guard GenerationSettings.guidanceRange.contains(settings.guidanceScale) else {
            throw PipelineError.invalidGuidance(settings.guidanceScale)
        }
    }

    /// An image-to-image start: RGB of the generation's size and a strength in [0, 1].
    func validate(initImage: [Float]?, _ settings: GenerationSettings) throws {
        guard let initImage else { return }
        guard initImage.count == 3 * settings.width * settings.height else {
            throw PipelineError.initImageSize(values: initImage.count, width: settings.width, height: settings.height)
        }
        guard (0...1).contains(settings.strength) else { throw PipelineError.invalidStrength(settings.strength) }
    }

    /// Conditioning this checkpoint's UNet takes: hidden states [1, 77 · windows, cross-attention width], a pooled
    /// embedding exactly for SDXL, and a negative half of the same shapes exactly when `guided`.
    func validate(_ conditioning: PromptConditioning, guided: Bool) throws {
        let states = conditioning.conditional.hiddenStates.shape
        let widths: Set<Int>
        switch unet.configuration.crossAttentionDim {
        case .all(let width): widths = [width]
        case .each(let each): widths = Set(each)
        }
        guard states.count == 3, states[0] == 1, states[1] % 77 == 0, widths == [states[2]] else {
            throw PipelineError.invalidConditioning(
                "hidden states of shape \(states), expected [1, 77 · windows, "
                    + widths.sorted().map(String.init).joined(separator: " or ") + "]")
        }
        let wantsPooled = family == .stableDiffusionXL
        guard (conditioning.conditional.pooled != nil) == wantsPooled else {
            throw PipelineError.invalidConditioning(wantsPooled ? "SDXL needs the pooled text embedding"
                                                    : "a pooled text embedding is only for SDXL")
        }
        switch (conditioning.unconditional, guided) {
        case (nil, true):
            throw PipelineError.invalidConditioning("guidance is on but there is no negative-prompt half")
        case (.some, false):
            throw PipelineError.invalidConditioning("guidance is off but there is a negative-prompt half")
        case (.some(let unconditional), true):
            guard unconditional.hiddenStates.shape == states,
                  unconditional.pooled?.shape == conditioning.conditional.pooled?.shape else {
                throw PipelineError.invalidConditioning(
                    "the negative-prompt half's shapes \(unconditional.hiddenStates.shape) differ from the prompt's "
                    + "\(states)")
            }
        case (nil, false):
            break
        }
    }

    /// The latents' shape for `settings`: [1, channels, height / f, width / f].
    func latentShape(_ settings: GenerationSettings) -> [Int] {
        [1, unet.configuration.inChannels, settings.height / latentScale, settings.width / latentScale]
    }
}
