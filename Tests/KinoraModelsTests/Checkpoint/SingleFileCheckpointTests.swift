import Foundation
import KinoraFormats
import KinoraModels
import KinoraTestSupport
import XCTest

/// The single-file checkpoint's component views serve each tensor from the mapped file under its internal name.
final class SingleFileCheckpointTests: ModelTestCase {
    func testComponentViewsServeTheFoldersTensorsUnderInternalNames() throws {
        let checkpoint = try SingleFileCheckpoint(url: singleFileFixture("sdxl"))
        XCTAssertTrue(checkpoint.unmapped.allSatisfy { $0.hasSuffix("logit_scale") }, "\(checkpoint.unmapped)")
        let folders: [(ModelComponent, String)] = [
            (.unet, "pipeline/sdxl/unet/diffusion_pytorch_model.safetensors"),
            (.vae, "pipeline/sdxl/vae/diffusion_pytorch_model.safetensors"),
            (.textEncoder, "pipeline/sdxl/text_encoder/model.safetensors"),
            (.textEncoder2, "pipeline/sdxl/text_encoder_2/model.safetensors"),
        ]
        for (component, path) in folders {
            let store = try checkpoint.store(component)
            let folder = try fixture(path)
            let strip = { (name: String) in name.hasPrefix("text_model.") ? String(name.dropFirst(11)) : name }
            XCTAssertEqual(store.tensorNames.map(strip).sorted(), folder.tensorNames.map(strip).sorted(),
                           "\(component)")
            for name in store.tensorNames {
                let folderName = folder.tensors[name] != nil ? name : strip(name)
                XCTAssertEqual(try store.info(name).shape, try folder.info(folderName).shape, name)
                XCTAssertEqual(try store.floats(name), try folder.floats(folderName), name)
            }
        }
    }

    func testSlicedTensorsAreViewsOfTheMappedFile() throws {
        let checkpoint = try SingleFileCheckpoint(url: singleFileFixture("sdxl"))
        let store = try checkpoint.store(.textEncoder2)
        let name = "text_model.encoder.layers.0.self_attn.k_proj.weight"
        let source = try store.mapping(name).source
        XCTAssertEqual(source, "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight")
        let fused = try checkpoint.file.info(source)
        let sliced = try store.info(name)
        XCTAssertEqual(sliced.dataRange.count, fused.dataRange.count / 3)
        XCTAssertEqual(sliced.dataRange.lowerBound, fused.dataRange.lowerBound + fused.dataRange.count / 3)
        let viewAddress = try store.withBytes(of: name) { $0.baseAddress }
        let fileAddress = try checkpoint.file.withBytes(of: source) {
            $0.baseAddress?.advanced(by: fused.byteCount / 3)
        }
        XCTAssertEqual(viewAddress, fileAddress, "no copy")
    }

    func testAPickledCkptOfTheSameWeightsServesTheSameTensors() throws {
        let safetensors = try SingleFileCheckpoint(url: singleFileFixture("sd"))
        let ckpt = try makeTemporaryFolder(self).appending(path: "sd.ckpt")
        try TorchCheckpointWriter.write(safetensors.file, wrapper: "state_dict", to: ckpt)
        let pickled = try SingleFileCheckpoint(url: ckpt)
        XCTAssertTrue(pickled.file is PrefixStrippedWeightStore)
        XCTAssertEqual(pickled.family, safetensors.family)
        XCTAssertEqual(pickled.file.tensorNames, safetensors.file.tensorNames)
        for component in [ModelComponent.unet, .vae, .textEncoder] {
            let (ours, reference) = (try pickled.store(component), try safetensors.store(component))
            XCTAssertEqual(ours.tensorNames, reference.tensorNames)
            for name in ours.tensorNames {
                XCTAssertEqual(try ours.floats(name), try reference.floats(name), name)
            }
        }
    }

    func testSD2KeepsAllButTheLastOpenCLIPLayerWhenAsked() throws {
        let checkpoint = try SingleFileCheckpoint(url: singleFileFixture("sd2"))
        let tower = try checkpoint.store(.textEncoder)
        let penultimate = try checkpoint.store(.textEncoder, layers: 2)
        XCTAssertTrue(tower.tensorNames.contains("text_model.encoder.layers.2.mlp.fc1.weight"))
        XCTAssertFalse(penultimate.tensorNames.contains { $0.contains("encoder.layers.2.") })
        XCTAssertEqual(tower.tensorNames.count - penultimate.tensorNames.count, 16)
    }

    func testACheckpointWithoutAVAEIsRejectedNamingThePart() throws {
        let folder = try makeTemporaryFolder(self)
        let source = try SafetensorsFile(url: singleFileFixture("sd"))
        let kept = source.tensorNames.filter { !$0.hasPrefix("first_stage_model.") }
        let url = folder.appending(path: "no-vae.safetensors")
        var writer = SafetensorsWriter()
        for name in kept {
            try writer.add(name, shape: try source.info(name).shape, floats: try source.floats(name))
        }
        try writer.write(to: url)
        let checkpoint = try SingleFileCheckpoint(url: url)
        XCTAssertThrowsError(try checkpoint.store(.vae)) { error in
            XCTAssertTrue("\(error)".contains("first_stage_model."), "\(error)")
        }
    }
}
