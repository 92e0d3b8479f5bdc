import Foundation
import KinoraGPU
import KinoraModels
import XCTest

/// `releaseUNet()` and `releaseVAE()` on the tiny SD fixture: each frees its own component's device weights and
/// nothing else, and the component uploads again, giving the same numbers, on its next use.
final class StableDiffusionReleaseTests: ModelTestCase {
    private func settings() -> GenerationSettings {
        var settings = GenerationSettings(prompt: "a red boat")
        settings.steps = 1
        settings.width = 16
        settings.height = 16
        return settings
    }

    func testReleasingTheUNetOrVAEFreesOnlyItsWeightsAndTheyReloadOnNextUse() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let settings = settings()
        let conditioning = try pipeline.encodePrompts(settings)
        let latents = try pipeline.denoise(settings, conditioning: conditioning)
        let image = try pipeline.decode(latents, width: settings.width, height: settings.height).image
        let unetBytes = pipeline.unetUploadedBytes
        let vaeBytes = pipeline.vaeUploadedBytes
        XCTAssertGreaterThan(unetBytes, 0)
        XCTAssertGreaterThan(vaeBytes, 0)

        let beforeUNet = device.memory.liveBytes
        try pipeline.releaseUNet()
        XCTAssertEqual(pipeline.unetUploadedBytes, 0)
        XCTAssertEqual(pipeline.vaeUploadedBytes, vaeBytes, "releasing the UNet kept the VAE")
        XCTAssertTrue(pipeline.textEncodersLoaded, "releasing the UNet kept the text encoders")
        XCTAssertGreaterThanOrEqual(beforeUNet - device.memory.liveBytes, UInt64(unetBytes))

        let beforeVAE = device.memory.liveBytes
        try pipeline.releaseVAE()
        XCTAssertEqual(pipeline.vaeUploadedBytes, 0)
        XCTAssertGreaterThanOrEqual(beforeVAE - device.memory.liveBytes, UInt64(vaeBytes))

        XCTAssertEqual(try pipeline.denoise(settings, conditioning: conditioning), latents, "the UNet reloaded")
        XCTAssertEqual(pipeline.unetUploadedBytes, unetBytes)
        XCTAssertEqual(try pipeline.decode(latents, width: settings.width, height: settings.height).image, image,
                       "the VAE reloaded")
        XCTAssertEqual(pipeline.vaeUploadedBytes, vaeBytes)
    }
}
