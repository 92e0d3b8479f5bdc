import Foundation
import KinoraFormats
@testable import KinoraModels
import KinoraTensor
import XCTest

/// LoRA adapters merged at load into the tiny SD 1.5 and SDXL pipeline fixtures, against diffusers 0.42.1's
/// `load_lora_weights` + `fuse_lora` (`scripts/fixtures/make_lora_fixtures.py`): the fused UNet's output and the text
/// encoders' last hidden states on fixed inputs, for each layout, two adapters with strengths, and SDXL's kohya
/// layout with ldm UNet names and `lora_te1_`/`lora_te2_`.
final class StableDiffusionLoRATests: ModelTestCase {
    /// fp32 weights merged in f32: relative L2 error against diffusers' fp32 outputs.
    static let tolerance = 1e-4

    private func components(_ folder: String, _ loras: [(String, Float)]) throws -> StableDiffusionComponents {
        try StableDiffusionComponents(folder: fixtureURL("pipeline/\(folder)")).applying(
            loras.map { LoRAAdapter(url: fixtureURL("lora/\($0.0)"), strength: $0.1) })
    }

    /// The UNet output and each text encoder's last hidden state on the fixture's inputs, keyed as in the fixture.
    private func outputs(_ components: StableDiffusionComponents, _ model: String) throws -> [String: [Float]] {
        let expected = try fixture("lora/expected.safetensors")
        let graph = makeGraph()
        func input(_ name: String) throws -> Value {
            try graph.input(expected.floats("\(model).inputs.\(name)"),
                            shape: expected.info("\(model).inputs.\(name)").shape)
        }
        let ids = [try expected.floats("\(model).inputs.input_ids").map { Int32($0) }]
        let unet = try UNet2DConditionModel(
            configuration: components.unetConfiguration,
            weights: DeviceWeights(store: components.unetStore, device: device, patches: components.unetPatches))
        var added: UNetAddedConditions?
        if components.textEncoder2 != nil {
            added = UNetAddedConditions(textEmbeds: try input("text_embeds"),
                                        timeIds: try expected.floats("\(model).inputs.time_ids"))
        }
        let prediction = try unet.record(graph, sample: input("sample"), timestep: 500,
                                         encoderHiddenStates: input("encoder_hidden_states"), addedConditions: added)
        var values = [prediction.output]
        let first = components.textEncoder
        values.append(try CLIPTextModel(
            configuration: first.configuration,
            weights: DeviceWeights(store: first.store, device: device, patches: first.patches))(graph, inputIDs: ids)
            .lastHiddenState)
        if let second = components.textEncoder2 {
            values.append(try CLIPTextModelWithProjection(
                configuration: second.configuration,
                weights: DeviceWeights(store: second.store, device: device, patches: second.patches))(
                    graph, inputIDs: ids).lastHiddenState)
        }
        let tensors = try graph.run(values)
        let names = ["unet", "text_encoder", "text_encoder_2"]
        return Dictionary(uniqueKeysWithValues: try tensors.enumerated().map {
            (names[$0.offset], try $0.element.floats())
        })
    }

    /// Asserts every output of `components` matches case `reference` of `model`, and differs from the base model's
    /// by far more than the tolerance (so the test would see a LoRA that was not merged).
    private func assertMatches(_ components: StableDiffusionComponents, _ model: String, _ reference: String,
                               line: UInt = #line) throws {
        let expected = try fixture("lora/expected.safetensors")
        for (name, actual) in try outputs(components, model) {
            let fused = try expected.floats("\(model).\(reference).\(name)")
            let base = try expected.floats("\(model).base.\(name)")
            let error = relativeL2(actual, fused)
            XCTAssertLessThan(error, Self.tolerance, "\(model) \(reference) \(name)", line: line)
            XCTAssertGreaterThan(relativeL2(base, fused), 100 * Self.tolerance,
                                 "\(model) \(reference) \(name) unchanged", line: line)
            print("\(model) \(reference) \(name): relative L2 \(error)")
        }
    }

    func testKohyaLoRAWithLoConMatchesDiffusersFusedModel() throws {
        try assertMatches(components("sd", [("sd-kohya.safetensors", 0.8)]), "sd", "kohya")
    }

    func testPEFTLoRAMatchesDiffusersFusedModel() throws {
        try assertMatches(components("sd", [("sd-peft.safetensors", 1)]), "sd", "peft")
    }

    func testPEFTConfigurationInTheFilesMetadataScalesTheUpdateAsDiffusers() throws {
        try assertMatches(components("sd", [("sd-peft-alpha.safetensors", 0.7)]), "sd", "peft-alpha")
    }

    func testTwoAdaptersWithStrengthsAddUpAsInDiffusers() throws {
        try assertMatches(components("sd", [("sd-kohya.safetensors", 0.8), ("sd-peft.safetensors", -0.5)]), "sd",
                          "both")
    }

    func testComfyUILayoutMergesAsTheKohyaFileItRenames() throws {
        try assertMatches(components("sd", [("sd-comfyui.safetensors", 0.8)]), "sd", "kohya")
    }

    func testProcessorLayoutMergesAsThePEFTFileItRenames() throws {
        try assertMatches(components("sd", [("sd-processor.safetensors", 1)]), "sd", "peft")
    }

    func testSDXLKohyaLoRAWithLdmNamesAndBothTextEncodersMatchesDiffusers() throws {
        try assertMatches(components("sdxl", [("sdxl-kohya.safetensors", 0.6)]), "sdxl", "kohya")
    }

    /// The UNet streamed block by block merges each block's adapters as it streams in, every pass: the same latents
    /// and image as the resident UNet with the same adapters, and not those of the model without them.
    func testStreamedUNetWithLoRAsGivesTheResidentGenerationBitForBit() throws {
        let loras = [("sd-kohya.safetensors", Float(0.8)), ("sd-peft.safetensors", -0.5)]
        var settings = try GenerationSettings(fixture: fixture("pipeline/expected.safetensors"))
        settings.steps = 2
        func generate(_ loras: [(String, Float)], _ streaming: WeightStreaming) throws
            -> StableDiffusionPipeline.Generation {
            var settings = settings
            settings.unetWeightStreaming = streaming
            let pipeline = try StableDiffusionPipeline(components: components("sd", loras), device: device)
            defer { device.memory.trim() }
            return try pipeline.run(settings)
        }
        let resident = try generate(loras, .off)
        let streamed = try generate(loras, .on)
        XCTAssertFalse(resident.memoryPlan.streamedUNet)
        XCTAssertTrue(streamed.memoryPlan.streamedUNet)
        XCTAssertEqual(streamed.latents, resident.latents)
        XCTAssertEqual(streamed.image, resident.image)
        let unmerged = try generate([], .on)
        XCTAssertGreaterThan(relativeL2(unmerged.latents, streamed.latents), 100 * Self.tolerance)
    }

    func testLoRAForAnotherModelIsRefusedNamingItsKey() throws {
        XCTAssertThrowsError(try components("sd", [("sdxl-kohya.safetensors", 1)])) { error in
            guard case LoRAError.noMatchingWeight(let file, let key, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(file.hasSuffix("sdxl-kohya.safetensors"))
            XCTAssertTrue(key.hasPrefix("lora_"), key)
        }
    }

    func testMergedWeightKeepsTheBaseWeightsDType() throws {
        let components = try components("sd", [("sd-kohya.safetensors", 0.8)])
        let name = "down_blocks.0.resnets.0.conv1.weight"
        let base = try components.unetStore.floats(name)
        var writer = SafetensorsWriter()
        for tensor in components.unetStore.tensorNames {
            try writer.add(tensor, shape: components.unetStore.info(tensor).shape,
                           floats: components.unetStore.floats(tensor), as: .f16)
        }
        let url = try makeTemporaryFolder(self).appending(path: "unet.safetensors")
        try writer.write(to: url)
        let weights = DeviceWeights(store: try SafetensorsFile(url: url), device: device,
                                    patches: components.unetPatches)
        let merged = try weights.tensor(name)
        XCTAssertEqual(merged.dtype, .f16)
        let full = try DeviceWeights(store: components.unetStore, device: device, patches: components.unetPatches)
            .tensor(name).floats()
        XCTAssertLessThan(relativeL2(try merged.floats(), full), 1e-3)
        XCTAssertGreaterThan(relativeL2(base, full), 1e-2)
    }
}
