import KinoraModels
import XCTest

@testable import KinoraPipeline

final class CatalogStageModelTests: XCTestCase {
    private func model(_ family: String, _ role: ComponentRole, precision: ActivationPrecision? = nil) throws
        -> CatalogStageModel {
        let family = try XCTUnwrap(try TestSupport.catalog().family(named: family))
        let identity = ModelIdentity(name: "m", family: family.name, component: role.rawValue, fingerprint: "f",
                                     precision: "auto")
        return try XCTUnwrap(CatalogStageModel(family: family, role: role, identity: identity,
                                               activationPrecision: precision))
    }

    /// 16-bit activations plan with the figures' `half` values, f32 ones and an unknown type with their f32 values.
    func testMemoryFollowsTheActivationType() throws {
        for (family, role, kind, unit) in [("sd15", ComponentRole.denoiser, StageKind.denoise, "per_latent_pixel"),
                                           ("sdxl", .decoder, .decode, "per_pixel")] {
            let figure = try XCTUnwrap(try model(family, role).components.first?.activation[unit])
            let half = try XCTUnwrap(figure.half, "\(family) \(unit) has a half value")
            XCTAssertLessThan(half, figure.value)
            let bytes = { (precision: ActivationPrecision?) in
                try self.model(family, role, precision: precision)
                    .activationBytes(for: [self.stage(kind, 1024)], tactic: Tactic(guidance: .sequential))
            }
            let units = Double(kind == .denoise ? 128 * 128 : 1024 * 1024)
            XCTAssertEqual(try bytes(.fp16), UInt64((half * units).rounded(.up)), family)
            XCTAssertEqual(try bytes(.bf16), try bytes(.fp16), family)
            XCTAssertEqual(try bytes(.fp32), UInt64((figure.value * units).rounded(.up)), family)
            XCTAssertEqual(try bytes(nil), try bytes(.fp32), "\(family): an unknown type plans as f32")
        }
    }

    private func stage(_ kind: StageKind, _ size: Int, cfg: Double = 7.5) -> Stage {
        Stage(id: "s", kind: kind, parameters: StageParameters(["width": .int(size), "height": .int(size),
                                                                "cfg": .number(cfg), "steps": .int(10)]))
    }

    func testSDXLTextEncodersCountAsOneModel() throws {
        let text = try model("sdxl", .textEncoder)
        XCTAssertEqual(text.weightBytes, 246_120_960 + 1_389_319_680)
        XCTAssertNil(text.streamedWeightBytes)
        XCTAssertNil(CatalogStageModel(family: text.family, role: .voice, identity: text.identity))
    }

    func testDenoiseMemoryScalesWithAreaBatchAndGuidance() throws {
        let unet = try model("sd15", .denoiser)
        let one = unet.activationBytes(for: [stage(.denoise, 512)], tactic: Tactic(guidance: .sequential))
        let perLatentPixel = try XCTUnwrap(unet.components.first?.activation["per_latent_pixel"]).bytes
        XCTAssertEqual(one, perLatentPixel * 64 * 64)
        XCTAssertEqual(unet.activationBytes(for: [stage(.denoise, 512)], tactic: Tactic(guidance: .batched)), 2 * one)
        XCTAssertEqual(unet.activationBytes(for: [stage(.denoise, 1024)], tactic: Tactic(guidance: .sequential)),
                       4 * one)
        let two = [stage(.denoise, 512), stage(.denoise, 512)]
        XCTAssertEqual(unet.activationBytes(for: two, tactic: Tactic(batch: 2, guidance: .sequential)), 2 * one)
        XCTAssertEqual(unet.tactics(for: stage(.denoise, 512, cfg: 1)), [Tactic()])
        XCTAssertEqual(unet.streamedWeightBytes, 102_478_728, "the largest resnet, the embeddings, conv_in, conv_out")
    }

    func testDecodeOffersOnlyTilesSmallerThanTheLatent() throws {
        let vae = try model("sdxl", .decoder)
        XCTAssertEqual(vae.tactics(for: stage(.decode, 1024)).map(\.tileLatentSize), [nil, 64, 32])
        XCTAssertEqual(vae.tactics(for: stage(.decode, 384)).map(\.tileLatentSize), [nil, 32])
        let untiled = vae.activationBytes(for: [stage(.decode, 1024)], tactic: Tactic())
        let tiled = vae.activationBytes(for: [stage(.decode, 1024)], tactic: Tactic(tileLatentSize: 32))
        let perPixel = try XCTUnwrap(vae.components.first?.activation["per_pixel"]).bytes
        XCTAssertEqual(untiled, perPixel * 1024 * 1024)
        XCTAssertEqual(tiled, perPixel * 256 * 256 + 1024 * 1024 * 12)
    }

    func testStreamingCostsAnUploadPerStep() throws {
        let unet = try model("sd15", .denoiser)
        let device = DeviceProfile(budgetBytes: 1 << 30)
        let resident = unet.estimatedSeconds(for: [stage(.denoise, 512)], tactic: Tactic(guidance: .batched),
                                             device: device)
        let streamed = unet.estimatedSeconds(for: [stage(.denoise, 512)],
                                             tactic: Tactic(guidance: .batched, streamedWeights: true), device: device)
        XCTAssertEqual(streamed - resident, 10 * Double(unet.weightBytes) / device.uploadBytesPerSecond,
                       accuracy: 1e-9)
    }
}
