import Foundation
@testable import KinoraModels
import XCTest

/// Configurations inferred from tensor shapes: at full size they must equal the real checkpoints' `config.json`
/// (SD 1.5, SDXL base; shapes from `CatalogLayout`), and on the tiny single files every shape-determined field must
/// equal the tiny folders' configurations.
final class ConfigurationInferenceTests: ModelTestCase {
    /// Per-block settings spelled out for every block, so `8` and `[8, 8, 8, 8]` compare equal.
    private func normalized(_ configuration: UNet2DConditionConfig) throws -> UNet2DConditionConfig {
        var result = configuration
        result.layersPerBlock = .each(try configuration.perBlock(configuration.layersPerBlock, "layers"))
        result.transformerLayersPerBlock = .each(try configuration.perBlock(configuration.transformerLayersPerBlock,
                                                                            "transformer"))
        result.crossAttentionDim = .each(try configuration.perBlock(configuration.crossAttentionDim, "cross"))
        result.attentionHeadDim = .each(try configuration.perBlock(configuration.attentionHeadDim, "heads"))
        return result
    }

    func testFullSizeUNetConfigurationsAreInferredExactlyFromTheirShapes() throws {
        for (model, family) in [(CatalogModel.sd15, ModelFamily.sd1), (.sdxl, .sdxl)] {
            let real = try model.unetConfiguration()
            let store = RandomWeightStore(shapes: try CatalogLayout.unet(real), sourceName: "\(model) unet")
            let pooled = try model.textEncoders().last { $0.withProjection }?.configuration.projectionDim
            let inferred = try UNet2DConditionConfig.inferred(from: store, family: family, pooledDimension: pooled)
            XCTAssertEqual(try normalized(inferred), try normalized(real), "\(model)")
        }
    }

    func testFullSizeVAEAndTextEncoderConfigurationsAreInferredExactlyFromTheirShapes() throws {
        for (model, family) in [(CatalogModel.sd15, ModelFamily.sd1), (.sdxl, .sdxl)] {
            let real = try model.vaeConfiguration()
            let store = RandomWeightStore(shapes: CatalogLayout.autoencoderKL(real), sourceName: "\(model) vae")
            var inferred = try AutoencoderKLConfiguration.inferred(from: store, family: family)
            inferred.forceUpcast = real.forceUpcast
            XCTAssertEqual(inferred, real, "\(model)")
            for encoder in try model.textEncoders() {
                let shapes = CatalogLayout.clipText(encoder.configuration, withProjection: encoder.withProjection)
                let inferred = try CLIPTextConfig.inferred(
                    from: RandomWeightStore(shapes: shapes, sourceName: encoder.folder), family: family,
                    activation: CLIPActivation(rawValue: encoder.configuration.hiddenAct) ?? .gelu)
                var expected = encoder.configuration
                (expected.padTokenId, expected.bosTokenId) = (inferred.padTokenId, inferred.bosTokenId)
                if !encoder.withProjection { expected.projectionDim = inferred.projectionDim }
                XCTAssertEqual(inferred, expected, "\(model) \(encoder.folder)")
            }
        }
    }

    func testTinySingleFilesInferEveryShapeDeterminedSetting() throws {
        for (file, folder) in [("sd", "pipeline/sd"), ("sdxl", "pipeline/sdxl"), ("sd2", "sd2/model")] {
            let checkpoint = try SingleFileCheckpoint(url: singleFileFixture(file))
            let family = checkpoint.family
            let pooled = try checkpoint.contains(.textEncoder2)
                ? CLIPTextConfig.inferred(from: checkpoint.store(.textEncoder2), family: family,
                                          activation: .gelu).projectionDim
                : nil
            let unet = try UNet2DConditionConfig.inferred(from: checkpoint.store(.unet), family: family,
                                                          pooledDimension: pooled)
            let real = try UNet2DConditionConfig(contentsOf: fixtureURL("\(folder)/unet/config.json"))
            let (a, b) = (try normalized(unet), try normalized(real))
            XCTAssertEqual(a.blockOutChannels, b.blockOutChannels, file)
            XCTAssertEqual(a.layersPerBlock, b.layersPerBlock, file)
            XCTAssertEqual(a.transformerLayersPerBlock, b.transformerLayersPerBlock, file)
            XCTAssertEqual(a.crossAttentionDim, b.crossAttentionDim, file)
            XCTAssertEqual(a.downBlockTypes, b.downBlockTypes, file)
            XCTAssertEqual(a.upBlockTypes, b.upBlockTypes, file)
            XCTAssertEqual(a.midBlockType, b.midBlockType, file)
            XCTAssertEqual(a.useLinearProjection, b.useLinearProjection, file)
            XCTAssertEqual([a.inChannels, a.outChannels, a.convInKernel, a.convOutKernel],
                           [b.inChannels, b.outChannels, b.convInKernel, b.convOutKernel], file)
            XCTAssertEqual(a.additionEmbedType, b.additionEmbedType, file)
            XCTAssertEqual(a.additionTimeEmbedDim, b.additionTimeEmbedDim, file)
            XCTAssertEqual(a.projectionClassEmbeddingsInputDim, b.projectionClassEmbeddingsInputDim, file)

            let vae = try AutoencoderKLConfiguration.inferred(from: checkpoint.store(.vae), family: family)
            let realVAE = try AutoencoderKLConfiguration.load(from: fixtureURL("\(folder)/vae/config.json"))
            XCTAssertEqual(vae.blockOutChannels, realVAE.blockOutChannels, file)
            XCTAssertEqual([vae.layersPerBlock, vae.latentChannels, vae.inChannels, vae.outChannels],
                           [realVAE.layersPerBlock, realVAE.latentChannels, realVAE.inChannels, realVAE.outChannels])

            let text = try CLIPTextConfig.inferred(from: checkpoint.store(.textEncoder), family: family,
                                                   activation: checkpoint.activation(of: .textEncoder))
            let realText = try CLIPTextConfig.load(from: fixtureURL("\(folder)/text_encoder/config.json"))
            XCTAssertEqual([text.vocabSize, text.hiddenSize, text.intermediateSize, text.maxPositionEmbeddings],
                           [realText.vocabSize, realText.hiddenSize, realText.intermediateSize,
                            realText.maxPositionEmbeddings], file)
            XCTAssertEqual(text.hiddenAct, realText.hiddenAct, file)
            // SD 2.x's file keeps OpenCLIP's whole tower; the pipeline drops its last layer.
            XCTAssertEqual(text.numHiddenLayers, realText.numHiddenLayers + (family == .sd2 ? 1 : 0), file)
        }
    }

    func testTinyFamiliesAreDetectedFromTheirTextEncoderLayout() throws {
        let families = try ["sd", "sdxl", "sd2"].map {
            try SingleFileCheckpoint(url: singleFileFixture($0)).family
        }
        XCTAssertEqual(families, [.sd1, .sdxl, .sd2])
    }

    func testMissingTensorIsNamedWhenInferring() {
        let store = RandomWeightStore(shapes: ["conv_in.weight": [32, 4, 3, 3]], sourceName: "partial")
        XCTAssertThrowsError(try UNet2DConditionConfig.inferred(from: store, family: .sd1)) { error in
            XCTAssertTrue("\(error)".contains("conv_out.weight") && "\(error)".contains("partial"), "\(error)")
        }
    }
}
