import Foundation
import KinoraGPU
import KinoraModels
import XCTest

/// The pipeline's stage API (`encodePrompts` → `denoise` → `decode`) against its whole generation on the tiny SD
/// and SDXL fixtures: the stages, run as separate calls on separate pipelines, give the same latents and picture
/// bit for bit.
final class StableDiffusionStagesTests: ModelTestCase {
    private func settings(_ fixturePath: String) throws -> GenerationSettings {
        let metadata = try fixture(fixturePath).metadata
        var settings = GenerationSettings(prompt: try XCTUnwrap(metadata["prompt"]))
        settings.negativePrompt = try XCTUnwrap(metadata["negative_prompt"])
        settings.steps = 2
        settings.guidanceScale = try XCTUnwrap(Float(metadata["guidance_scale"] ?? ""))
        settings.seed = try XCTUnwrap(UInt64(metadata["seed"] ?? ""))
        settings.width = try XCTUnwrap(Int(metadata["width"] ?? ""))
        settings.height = try XCTUnwrap(Int(metadata["height"] ?? ""))
        return settings
    }

    /// Runs the three stages as a staged render does: the text on one pipeline, denoise and decode on another that
    /// never loads the text encoders, the conditioning passed on as host values.
    private func assertStagesMatchTheWholeGeneration(_ model: String, _ settings: GenerationSettings,
                                                     file: StaticString = #filePath, line: UInt = #line) throws
        -> PromptConditioning {
        let whole = try StableDiffusionPipeline(folder: fixtureURL(model), device: device).run(settings)

        let text = try StableDiffusionPipeline(folder: fixtureURL(model), device: device)
        let conditioning = try text.encodePrompts(settings)
        XCTAssertTrue(text.textEncodersLoaded, file: file, line: line)
        text.releaseTextEncoders()
        XCTAssertFalse(text.textEncodersLoaded, file: file, line: line)

        let image = try StableDiffusionPipeline(folder: fixtureURL(model), device: device)
        var steps: [Int] = []
        let latents = try image.denoise(settings, conditioning: conditioning) { steps.append($0.step) }
        XCTAssertFalse(image.textEncodersLoaded, "denoise loaded the text encoders", file: file, line: line)
        XCTAssertEqual(steps, [1, 2], file: file, line: line)
        XCTAssertEqual(latents, whole.latents, "staged latents", file: file, line: line)
        let decoded = try image.decode(latents, width: settings.width, height: settings.height)
        XCTAssertEqual(decoded.image, whole.image, "staged image", file: file, line: line)
        return conditioning
    }

    func testStableDiffusionStagesGiveTheWholeGenerationsLatentsAndImageBitForBit() throws {
        let settings = try settings("pipeline/expected.safetensors")
        XCTAssertGreaterThan(settings.guidanceScale, 1)
        let conditioning = try assertStagesMatchTheWholeGeneration("pipeline/sd", settings)
        XCTAssertEqual(conditioning.conditional.hiddenStates.shape, [1, 77, 32])
        XCTAssertNil(conditioning.conditional.pooled)
        XCTAssertEqual(conditioning.unconditional?.hiddenStates.shape, [1, 77, 32])
        XCTAssertNotEqual(conditioning.unconditional?.hiddenStates.values, conditioning.conditional.hiddenStates.values)
    }

    func testStableDiffusionXLStagesMatchTheWholeGenerationWithZeroedEmptyNegative() throws {
        var settings = try settings("pipeline/expected-sdxl.safetensors")
        settings.negativePrompt = ""
        let conditioning = try assertStagesMatchTheWholeGeneration("pipeline/sdxl", settings)
        let unconditional = try XCTUnwrap(conditioning.unconditional)
        XCTAssertNotNil(conditioning.conditional.pooled)
        XCTAssertTrue(unconditional.hiddenStates.values.allSatisfy { $0 == 0 })
        XCTAssertTrue(try XCTUnwrap(unconditional.pooled).values.allSatisfy { $0 == 0 })
    }

    func testStableDiffusionLongPromptPadsTheNegativeHalfToTheSameWindows() throws {
        var settings = GenerationSettings(prompt: "a red fox BREAK in deep snow")
        settings.promptSyntax = .a1111
        settings.guidanceScale = 5
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let conditioning = try pipeline.encodePrompts(settings)
        XCTAssertEqual(conditioning.conditional.hiddenStates.shape, [1, 154, 32])
        XCTAssertEqual(conditioning.unconditional?.hiddenStates.shape, [1, 154, 32])
        XCTAssertEqual(conditioning.tokens, 154)
        settings.guidanceScale = 1
        XCTAssertNil(try pipeline.encodePrompts(settings).unconditional)
    }

    func testStableDiffusionDenoiseRejectsConditioningTheCheckpointOrGuidanceCannotTake() throws {
        var settings = GenerationSettings(prompt: "a red fox")
        settings.width = 16
        settings.height = 16
        settings.steps = 1
        settings.guidanceScale = 5
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let conditioning = try pipeline.encodePrompts(settings)
        let unguided = PromptConditioning(conditional: conditioning.conditional)
        let wide = PromptConditioning.Embedding(
            hiddenStates: try PromptConditioning.Values([Float](repeating: 0, count: 77 * 48), shape: [1, 77, 48]))
        let cases: [(PromptConditioning, Float, String)] = [
            (unguided, 5, "guidance is on but there is no negative-prompt half"),
            (conditioning, 1, "guidance is off but there is a negative-prompt half"),
            (PromptConditioning(conditional: wide), 1,
             "hidden states of shape [1, 77, 48], expected [1, 77 · windows, 32]"),
        ]
        for (input, scale, reason) in cases {
            settings.guidanceScale = scale
            var ran = false
            XCTAssertThrowsError(try pipeline.denoise(settings, conditioning: input) { _ in ran = true }) { error in
                XCTAssertEqual(error as? PipelineError, .invalidConditioning(reason))
            }
            XCTAssertFalse(ran, "no step may run")
        }
        XCTAssertThrowsError(try PromptConditioning.Values([1, 2, 3], shape: [1, 2])) { error in
            XCTAssertEqual(error as? PipelineError, .invalidConditioning("shape [1, 2] does not hold 3 values"))
        }
    }
}
