import Foundation
import KinoraFormats
import KinoraModels
import XCTest

final class DeviceWeightsTests: ModelTestCase {
    /// A copy of the tiny Stable Diffusion 1.5 fixture in a temporary folder, with `tensor` left out of the weight
    /// file `component` (such as `unet/diffusion_pytorch_model.safetensors`); returns the folder and that file.
    private func fixtureWithout(_ tensor: String, in component: String) throws -> (folder: URL, file: URL) {
        let folder = try makeTemporaryFolder(self).appending(path: "sd")
        try FileManager.default.copyItem(at: fixtureURL("pipeline/sd"), to: folder)
        let file = folder.appending(path: component)
        let original = try SafetensorsFile(url: file)
        XCTAssertNotNil(original.tensors[tensor], "the fixture has \(tensor)")
        var writer = SafetensorsWriter(metadata: original.metadata)
        for name in original.tensorNames where name != tensor {
            let info = try original.info(name)
            try writer.add(name, dtype: info.dtype, shape: info.shape,
                           bytes: try original.withBytes(of: name) { [UInt8]($0) })
        }
        let data = try writer.encoded()
        try FileManager.default.removeItem(at: file)
        try data.write(to: file)
        return (folder, file)
    }

    private func generationError(folder: URL) throws -> String {
        let pipeline = try StableDiffusionPipeline(folder: folder, device: device)
        var settings = try GenerationSettings(fixture: fixture("pipeline/expected.safetensors"))
        settings.steps = 1
        do {
            _ = try pipeline.generate(settings)
        } catch {
            return "\(error)"
        }
        XCTFail("the generation ran without the tensor")
        return ""
    }

    func testAUNetWithoutALinearBiasItsArchitectureHasIsRefusedNamingTheTensorAndTheFile() throws {
        let tensor = "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0.bias"
        let copy = try fixtureWithout(tensor, in: "unet/diffusion_pytorch_model.safetensors")
        let message = try generationError(folder: copy.folder)
        XCTAssertTrue(message.contains("'\(tensor)'") && message.contains(copy.file.path), message)
    }

    func testAVAEWithoutAConvolutionBiasIsRefusedNamingTheTensorAndTheFile() throws {
        let tensor = "decoder.conv_in.bias"
        let copy = try fixtureWithout(tensor, in: "vae/diffusion_pytorch_model.safetensors")
        let message = try generationError(folder: copy.folder)
        XCTAssertTrue(message.contains("'\(tensor)'") && message.contains(copy.file.path), message)
    }

    func testARequiredBiasIsReadAndAnOptionalOneIsNilWhenAbsent() throws {
        let store = try fixture("pipeline/sd/unet/diffusion_pytorch_model.safetensors")
        let weights = DeviceWeights(store: store, device: device)
        let graph = makeGraph()
        let attention = weights.scoped("mid_block.attentions.0.transformer_blocks.0.attn1")
        XCTAssertNil(try attention.scoped("to_q").bias(in: graph, required: false), "to_q has no bias by design")
        XCTAssertNotNil(try attention.scoped("to_out.0").bias(in: graph, required: true))
        XCTAssertThrowsError(try attention.scoped("to_q").bias(in: graph, required: true)) { error in
            XCTAssertEqual(error as? WeightsError, .missingTensor(
                file: store.url.path, tensor: "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.bias"))
        }
    }
}
