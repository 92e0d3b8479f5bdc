import Foundation
import KinoraModels
import XCTest

/// The tiny SD 2.x pipeline (`scripts/fixtures/make_sd2_fixtures.py`): OpenCLIP-style text encoder (GELU, the
/// penultimate layer), linear `proj_in`/`proj_out` with per-block heads, and a v-prediction DDIM schedule.
final class StableDiffusion2PipelineTests: ModelTestCase {
    func testStableDiffusion2VPredictionFourStepRunMatchesDiffusers() throws {
        let expected = try fixture("sd2/expected.safetensors")
        let settings = try GenerationSettings(fixture: expected)
        XCTAssertEqual(settings.sampler, .ddim)

        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("sd2/model"), device: device)
        XCTAssertEqual(pipeline.modelFamily, .sd2)
        XCTAssertEqual(pipeline.components.schedulerConfiguration.predictionType, .vPrediction)
        XCTAssertTrue(pipeline.components.unetConfiguration.useLinearProjection)
        let generation = try pipeline.run(settings)
        assertClose(generation.latents, try expected.floats("latents"), tolerance: 1e-3, "SD2 latents")
        assertClose(generation.image, try expected.floats("image"), tolerance: 1e-3, "SD2 image")
    }
}
