import Foundation
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// The tiny families' `streamed_weight_bytes` against their real UNets: the figure is the largest streamed piece
/// plus the head and tail that stay, as the UNet itself counts them, and the planner's streamed prediction (those
/// bytes plus the activation figure) covers what the pipeline plans for a streamed denoise in the measured range.
final class CatalogStreamedWeightsTests: XCTestCase {
    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    func testTinyStreamedWeightBytesAreTheUNetsAndCoverAStreamedDenoise() throws {
        let catalog = try TestSupport.catalog()
        for (name, folder) in [("tiny-sd15", "sd"), ("tiny-sdxl", "sdxl")] {
            let family = try XCTUnwrap(catalog.family(named: name))
            let identity = ModelIdentity(name: name, family: name, component: "denoiser", fingerprint: "test",
                                         precision: "auto")
            let model = try XCTUnwrap(CatalogStageModel(family: family, role: .denoiser, identity: identity))
            let fixture = TestSupport.root.appendingPathComponent("Tests/Fixtures/pipeline/\(folder)")
            let unet = try UNet2DConditionModel(folder: fixture.appendingPathComponent("unet"),
                                                device: ValidatedTestDevice.shared)
            XCTAssertEqual(model.streamedWeightBytes,
                           UInt64(unet.largestStreamedPieceBytes + unet.streamedResidentBytes), name)

            let pipeline = try StableDiffusionPipeline(folder: fixture, device: ValidatedTestDevice.shared)
            for size in [32, 64, 128] {
                var settings = KinoraModels.GenerationSettings(prompt: "a red boat")
                settings.width = size
                settings.height = size
                settings.guidanceScale = 7.5
                let memory = try pipeline.memory(for: settings, streamedUNet: true)
                XCTAssertTrue(memory.streamedUNet)
                let stage = Stage(id: "s", kind: .denoise, parameters: StageParameters([
                    "width": .int(size), "height": .int(size), "cfg": .number(7.5), "steps": .int(4),
                ]))
                for guidance in [Tactic.Guidance.batched, .sequential] {
                    let tactic = Tactic(guidance: guidance, streamedWeights: true)
                    let predicted = try XCTUnwrap(model.streamedWeightBytes)
                        + model.activationBytes(for: [stage], tactic: tactic)
                    // What the pipeline holds for its UNet: the head and tail, the conditioning, the pass.
                    let pass = guidance == .batched ? memory.unetBatch2 : memory.unetBatch1
                    let planned = UInt64(unet.streamedResidentBytes) + pass.peakBytes
                    XCTAssertGreaterThanOrEqual(predicted, planned, "\(name) \(size)² \(guidance)")
                }
            }
        }
    }
}
