import Foundation
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// The runner's evictions on the tiny SD fixture: evicting the decoder or the denoiser frees that component's device
/// weights even while the pipeline stays open for its other components.
final class ChainStageRunnerEvictTests: XCTestCase {
    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    func testEvictingTheDecoderOrDenoiserFreesItsWeightsWhileThePipelineStaysOpen() throws {
        let device = ValidatedTestDevice.shared
        let folder = TestSupport.root.appendingPathComponent("Tests/Fixtures/pipeline/sd")
        let family = try XCTUnwrap(TestSupport.catalog().family(named: "sd15"))
        let models = try [ComponentRole.textEncoder, .denoiser, .decoder].map { role in
            let identity = ModelIdentity(name: "hero/\(role.rawValue)", family: family.name, component: role.rawValue,
                                         fingerprint: "test:hero", precision: "f32")
            return try XCTUnwrap(CatalogStageModel(family: family, role: role, identity: identity))
        }
        let locations = Dictionary(uniqueKeysWithValues: models.map { ($0.identity.key, folder) })
        let runner = ChainStageRunner(device: device, workflow: try TestSupport.stillsWorkflow(),
                                      workflowFolder: TestSupport.root, locations: locations)
        for model in models { try runner.load(model, streamed: false) }
        let pipeline = try XCTUnwrap(runner.pipelines[folder.path]?.pipeline)
        var settings = GenerationSettings(prompt: "a red boat")
        settings.steps = 1
        settings.width = 16
        settings.height = 16
        let latents = try pipeline.denoise(settings, conditioning: pipeline.encodePrompts(settings))
        _ = try pipeline.decode(latents, width: settings.width, height: settings.height)
        XCTAssertGreaterThan(pipeline.unetUploadedBytes, 0)
        XCTAssertGreaterThan(pipeline.vaeUploadedBytes, 0)

        try runner.evict(models[2])
        XCTAssertEqual(pipeline.vaeUploadedBytes, 0, "the decoder's eviction freed the VAE")
        XCTAssertGreaterThan(pipeline.unetUploadedBytes, 0)
        try runner.evict(models[1])
        XCTAssertEqual(pipeline.unetUploadedBytes, 0, "the denoiser's eviction freed the UNet")
        XCTAssertTrue(pipeline.textEncodersLoaded)
        XCTAssertNotNil(runner.pipelines[folder.path], "the text encoder still holds the pipeline open")
        try runner.evict(models[0])
        XCTAssertNil(runner.pipelines[folder.path])
    }
}
