import Foundation
import KinoraGPU
import KinoraModels
import XCTest

/// The pipeline's pre-flight memory plan on the tiny SD fixture, with budgets set on the device's allocator, the
/// UNet resident (`StableDiffusionWeightStreamingTests` covers streaming).
final class StableDiffusionMemoryPlanTests: ModelTestCase {
    private func settings() throws -> GenerationSettings {
        let metadata = try fixture("pipeline/expected.safetensors").metadata
        var settings = GenerationSettings(prompt: try XCTUnwrap(metadata["prompt"]))
        settings.negativePrompt = try XCTUnwrap(metadata["negative_prompt"])
        settings.steps = 2
        settings.guidanceScale = 7.5
        settings.seed = 42
        settings.width = 24
        settings.height = 16
        // The resident tactics; streaming the UNet's weights has tests of its own.
        settings.unetWeightStreaming = .off
        return settings
    }

    private func assertOverBudget(_ pipeline: StableDiffusionPipeline, _ budget: UInt64, stage: String,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        var ran = false
        let settings = try settings()
        try withBudget(budget) {
            XCTAssertThrowsError(try pipeline.generate(settings) { _ in ran = true }, file: file, line: line) {
                error in
                guard case PipelineError.overBudget(let needed, let limit, let failing) = error else {
                    return XCTFail("expected overBudget, got \(error)", file: file, line: line)
                }
                XCTAssertEqual(limit, budget, file: file, line: line)
                XCTAssertGreaterThan(needed, budget, file: file, line: line)
                XCTAssertEqual(failing, stage, file: file, line: line)
                XCTAssertTrue("\(error)".contains("needs about \(ByteCount(needed))"), "\(error)", file: file,
                              line: line)
            }
        }
        XCTAssertFalse(ran, "no step may run", file: file, line: line)
    }

    func testStableDiffusionBudgetBelowTheWeightsFailsBeforeLoadingThem() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        try assertOverBudget(pipeline, 64 << 10, stage: "model weights")
    }

    func testStableDiffusionBudgetJustBelowTheSmallestPlanFailsBeforeAnyStepNamingItsStage() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let memory = try pipeline.memory(for: settings())
        // The planner's answer for a budget of zero is the smallest peak any tactic reaches, and where.
        let needed: UInt64, stage: String
        do {
            _ = try memory.plan(budget: 0)
            return XCTFail("a zero budget must not fit")
        } catch PipelineError.overBudget(let smallest, _, let failing) {
            (needed, stage) = (smallest, failing)
        }
        XCTAssertNoThrow(try memory.plan(budget: needed), "exactly the bytes it says it needs fit")
        try assertOverBudget(pipeline, needed - 1, stage: stage)
    }

    func testStableDiffusionReleasesTheTextEncodersWhenThatKeepsGuidanceBatched() throws {
        let settings = try settings()
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let unconstrained = try pipeline.run(settings)
        XCTAssertFalse(unconstrained.memoryPlan.releaseTextEncoders)
        XCTAssertTrue(unconstrained.memoryPlan.batchedGuidance)
        let memory = try pipeline.memory(for: settings)
        XCTAssertGreaterThan(memory.textEncoderBytes, 0)
        // One byte short of batching with the encoders kept; released, the batched UNet fits.
        let budget = unconstrained.memoryPlan.unetPeakBytes - 1
        XCTAssertGreaterThanOrEqual(budget, unconstrained.memoryPlan.textPeakBytes)

        device.memory.resetPeak()
        let released = try withBudget(budget) { try pipeline.run(settings) }
        XCTAssertTrue(released.memoryPlan.releaseTextEncoders)
        XCTAssertTrue(released.memoryPlan.batchedGuidance)
        XCTAssertLessThanOrEqual(device.memory.peakBytes, released.memoryPlan.peakBytes)
        XCTAssertEqual(released.latents, unconstrained.latents)
        // The next generation loads them again.
        XCTAssertEqual(try withBudget(budget) { try pipeline.run(settings) }.latents, unconstrained.latents)
    }

    func testStableDiffusionDecodeTilesByItselfWhenUntiledWouldNotFitAndStaysUnderItsPrediction() throws {
        // 72 pixels: 36 latents, more than one of the tiny VAE's default 32-latent (64-pixel) tiles.
        var settings = GenerationSettings(prompt: "a red fox")
        settings.width = 72
        settings.height = 72
        settings.steps = 1
        settings.guidanceScale = 1
        settings.unetWeightStreaming = .off
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let generation = try pipeline.run(settings)
        XCTAssertNil(generation.memoryPlan.decodeTileLatentSize)

        let memory = try pipeline.memory(for: settings)
        let tiled = try XCTUnwrap(memory.decodeTiled.first)
        XCTAssertEqual(tiled.latentTileSize, 32)
        XCTAssertLessThan(tiled.stage.peakBytes, memory.decodeUntiled.peakBytes)
        // A budget the tiled decode fits next to the loaded models and the untiled one does not.
        let budget = memory.residentBytes + tiled.stage.peakBytes
        XCTAssertGreaterThan(memory.residentBytes + memory.decodeUntiled.peakBytes, budget)

        device.memory.resetPeak()
        let (image, plan) = try withBudget(budget) { try pipeline.decode(generation.latents, width: 72, height: 72) }
        XCTAssertEqual(plan.decodeTileLatentSize, 32)
        XCTAssertLessThanOrEqual(device.memory.peakBytes, plan.peakBytes, "measured allocator peak above the plan")
        XCTAssertLessThanOrEqual(plan.peakBytes, budget)
        // diffusers' tiled decode blends 16-pixel seams between 64-pixel tiles: close to the whole decode.
        let error = relativeL2(image, generation.image)
        XCTAssertGreaterThan(error, 0)
        XCTAssertLessThan(error, 0.05, "tiled against untiled decode")
    }

    func testStableDiffusionMeasuredPeakStaysUnderThePlanWithGuidanceBatched() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        device.memory.resetPeak()
        let generation = try pipeline.run(settings())
        XCTAssertTrue(generation.memoryPlan.batchedGuidance)
        XCTAssertLessThanOrEqual(device.memory.peakBytes, generation.memoryPlan.peakBytes)
    }
}
