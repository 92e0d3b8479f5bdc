import Foundation
import KinoraModels
import XCTest

/// The tiny SD 1.x, SDXL and SD 2.x pipelines as A1111/ComfyUI single files (assembled from the folders by the
/// layout recipes of `scripts/fixtures/make_single_file_fixtures.py`, which proves diffusers' `from_single_file`
/// reads them back to the folders' weights) must reproduce the folders' diffusers expectations, with the tiny
/// configurations passed explicitly as diffusers needs them too.
final class StableDiffusionSingleFileTests: ModelTestCase {
    private func pipeline(_ name: String, configuration: String, tokenizer: String? = nil) throws
        -> StableDiffusionPipeline {
        let options = SingleFileOptions(tokenizer: tokenizer.map { fixtureURL($0) },
                                        configuration: fixtureURL(configuration))
        return try StableDiffusionPipeline(singleFile: singleFileFixture(name), options: options, device: device)
    }

    func testStableDiffusionSingleFileReproducesTheFolderPipelineLatentsAndImage() throws {
        let expected = try fixture("pipeline/expected.safetensors")
        let pipeline = try pipeline("sd", configuration: "pipeline/sd")
        XCTAssertEqual(pipeline.modelFamily, .sd1)
        let generation = try pipeline.run(try GenerationSettings(fixture: expected))
        assertClose(generation.latents, try expected.floats("latents"), tolerance: 1e-3, "single-file latents")
        assertClose(generation.image, try expected.floats("image"), tolerance: 1e-3, "single-file image")
    }

    func testStableDiffusionXLSingleFileReproducesTheFolderPipelineImage() throws {
        let expected = try fixture("pipeline/expected-sdxl.safetensors")
        // The tokenizer named explicitly: its pad token comes from the family (`!` for the second encoder).
        let pipeline = try pipeline("sdxl", configuration: "pipeline/sdxl", tokenizer: "pipeline/sdxl/tokenizer")
        XCTAssertEqual(pipeline.modelFamily, .sdxl)
        XCTAssertEqual(pipeline.family, .stableDiffusionXL)
        let image = try pipeline.generate(try GenerationSettings(fixture: expected))
        assertClose(image, try expected.floats("image"), tolerance: 1e-3, "single-file SDXL image")
    }

    func testStableDiffusion2SingleFileDropsOpenCLIPsLastLayerAndReproducesTheVPredictionRun() throws {
        let expected = try fixture("sd2/expected.safetensors")
        let pipeline = try pipeline("sd2", configuration: "sd2/model")
        XCTAssertEqual(pipeline.modelFamily, .sd2)
        XCTAssertEqual(pipeline.components.textEncoder.configuration.numHiddenLayers, 2)
        XCTAssertFalse(pipeline.components.textEncoder.store.tensorNames.contains { $0.contains("layers.2.") })
        let generation = try pipeline.run(try GenerationSettings(fixture: expected))
        assertClose(generation.latents, try expected.floats("latents"), tolerance: 1e-3, "SD2 single-file latents")
        assertClose(generation.image, try expected.floats("image"), tolerance: 1e-3, "SD2 single-file image")
    }

    func testPredictionOverrideReplacesTheConfiguredSchedule() throws {
        let checkpoint = try singleFileFixture("sd2")
        let options = SingleFileOptions(configuration: fixtureURL("sd2/model"), prediction: .epsilon)
        let components = try StableDiffusionComponents(singleFile: checkpoint, options: options)
        XCTAssertEqual(components.schedulerConfiguration.predictionType, .epsilon)
        let inferred = try StableDiffusionComponents(
            singleFile: checkpoint,
            options: SingleFileOptions(tokenizer: fixtureURL("sd2/model/tokenizer")))
        XCTAssertEqual(inferred.schedulerConfiguration.predictionType, .vPrediction, "SD 2.x's default")
        XCTAssertEqual(inferred.textEncoder.configuration.hiddenAct, "gelu")
        XCTAssertEqual(inferred.textEncoder.configuration.numHiddenLayers, 2, "OpenCLIP's penultimate layer")
        XCTAssertEqual(inferred.tokenizer.padTokenID, 0, "SD 2.x pads with '!'")
    }

    func testASingleFileWithoutATokenizerSaysWhereToGetOne() throws {
        setenv("KINORA_CLIP_BPE", "/nonexistent/bpe_simple_vocab_16e6.txt", 1)
        defer { unsetenv("KINORA_CLIP_BPE") }
        let checkpoint = try singleFileFixture("sd")
        XCTAssertThrowsError(try StableDiffusionComponents(singleFile: checkpoint)) { error in
            XCTAssertEqual(error as? PipelineError, .missingTokenizer(
                checkpoint: checkpoint.path,
                looked: "/nonexistent/bpe_simple_vocab_16e6.txt"))
            XCTAssertTrue("\(error)".contains("--tokenizer"), "\(error)")
        }
    }

    func testDiffusersUNetFilePassedAsASingleFileIsRejectedClearly() {
        let url = fixtureURL("pipeline/sd/unet/diffusion_pytorch_model.safetensors")
        XCTAssertThrowsError(try StableDiffusionComponents(singleFile: url)) { error in
            XCTAssertTrue("\(error)".contains("pass the diffusers folder"), "\(error)")
        }
    }
}
