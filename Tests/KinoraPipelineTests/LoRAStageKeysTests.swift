import Foundation
import KinoraFormats
import XCTest

@testable import KinoraPipeline

/// A model's LoRA adapters in the stage cache's identity and in the plan: changing, re-weighting or reordering them
/// re-renders exactly the stages of the model parts they adapt, and each load lists them with the merge's scratch.
final class LoRAStageKeysTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try TestSupport.temporaryFolder(self)
        let fixtures = TestSupport.root.appendingPathComponent("Tests/Fixtures/lora")
        for name in ["sd-kohya.safetensors", "sd-peft.safetensors"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name),
                                             to: folder.appendingPathComponent(name))
        }
        var writer = SafetensorsWriter()
        try writer.add("unet.mid_block.attentions.0.proj_in.lora_A.weight", shape: [2, 32],
                       floats: [Float](repeating: 1, count: 64))
        try writer.add("unet.mid_block.attentions.0.proj_in.lora_B.weight", shape: [32, 2],
                       floats: [Float](repeating: 1, count: 64))
        try writer.write(to: folder.appendingPathComponent("unet-only.safetensors"))
    }

    /// Prepares a workflow whose model `styled` has `loras` and whose model `plain` has none, one shot each.
    private func prepare(_ loras: String, budget: UInt64 = 1 << 30) throws -> RenderPreparation {
        let text = """
            output: {size: 64x64}
            models:
              styled: {catalog: tiny-sd15, loras: \(loras)}
              plain: {catalog: tiny-sd15}
            shots:
              - {id: styled-shot, prompt: a boat, seed: 1, duration: 1, final: {model: styled, steps: 2}}
              - {id: plain-shot, prompt: a harbour, seed: 2, duration: 1, final: {model: plain, steps: 2}}
            """
        let url = folder.appendingPathComponent("film.yaml")
        try Data(text.utf8).write(to: url)
        return try RenderPreparation.prepare(
            workflow: url, mode: .final, catalogFolder: TestSupport.catalogFolder,
            searchPaths: ModelSearchPaths(roots: [TestSupport.catalogFolder]),
            device: DeviceProfile(budgetBytes: budget))
    }

    private func keys(_ loras: String) throws -> [String: String] {
        StageKeys.compute(try prepare(loras).graph)
    }

    private func changed(_ before: [String: String], _ after: [String: String]) -> Set<String> {
        Set(before.keys.filter { before[$0] != after[$0] })
    }

    private let styledStages: Set<String> = ["styled-shot/encode-text", "styled-shot/denoise", "styled-shot/decode",
                                             "styled-shot/animate", "video/encode", "output/mux"]

    func testReweightingOrReplacingALoRAReRendersExactlyTheStagesOfItsModel() throws {
        let before = try keys("[sd-kohya.safetensors:0.8]")
        XCTAssertEqual(try keys("[{file: sd-kohya.safetensors, strength: 0.80}]"), before, "the same strength")
        XCTAssertEqual(changed(before, try keys("[sd-kohya.safetensors:0.5]")), styledStages)
        XCTAssertEqual(changed(before, try keys("[sd-peft.safetensors:0.8]")), styledStages)
        XCTAssertEqual(changed(before, try keys("[]")), styledStages)
        let file = folder.appendingPathComponent("sd-kohya.safetensors")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)],
                                              ofItemAtPath: file.path)
        XCTAssertEqual(changed(before, try keys("[sd-kohya.safetensors:0.8]")), styledStages, "the file changed")
    }

    func testTheOrderOfTheAdaptersIsPartOfTheIdentity() throws {
        let before = try keys("[sd-kohya.safetensors:0.8, sd-peft.safetensors:-0.5]")
        XCTAssertEqual(changed(before, try keys("[sd-peft.safetensors:-0.5, sd-kohya.safetensors:0.8]")),
                       styledStages)
    }

    func testALoRAThatAdaptsOnlyTheUNetKeepsTheTextEncodingOfTheModelWithout() throws {
        let before = try keys("[]")
        XCTAssertEqual(changed(before, try keys("[unet-only.safetensors]")),
                       styledStages.subtracting(["styled-shot/encode-text"]))
        XCTAssertEqual(changed(before, try keys("[sd-kohya.safetensors]")), styledStages)
    }

    func testEachLoadListsItsAdaptersAndCountsTheMergeScratchInItsPeak() throws {
        let preparation = try prepare("[sd-kohya.safetensors:0.8, unet-only.safetensors]")
        let loads = preparation.plan.steps.filter { $0.action == .load }
        let unet = try XCTUnwrap(loads.first { $0.model == "styled/denoiser" })
        XCTAssertEqual(unet.adapters, ["sd-kohya.safetensors:0.8", "unet-only.safetensors:1"])
        let scratch = try XCTUnwrap(unet.mergeScratchBytes)
        XCTAssertGreaterThan(scratch, 0)
        XCTAssertEqual(unet.peakBytes, unet.weightBytes + scratch, "the only model resident when it loads")
        let text = try XCTUnwrap(loads.first { $0.model == "styled/text_encoder" })
        XCTAssertEqual(text.adapters, ["sd-kohya.safetensors:0.8"])
        for plain in loads where !plain.model!.hasPrefix("styled/") || plain.model == "styled/decoder" {
            XCTAssertNil(plain.adapters, plain.model!)
            XCTAssertNil(plain.mergeScratchBytes, plain.model!)
        }
        XCTAssertTrue(preparation.plan.rendered().contains(
            "load   styled/denoiser  \(ByteAmount(unet.weightBytes)) + LoRA sd-kohya.safetensors:0.8, "
                + "unet-only.safetensors:1 merged at load (scratch \(ByteAmount(scratch)))"),
                      preparation.plan.rendered())
        XCTAssertEqual(preparation.loras["styled"]?.map(\.strength), [0.8, 1])
        XCTAssertNil(preparation.loras["plain"])
    }

    func testABudgetWithoutRoomForTheMergeBesideTheWeightsRefusesThePlan() throws {
        let graph = try prepare("[]").graph
        let fits = try Planner(device: DeviceProfile(budgetBytes: 1 << 30)).plan(graph)
        let load = try XCTUnwrap(fits.steps.first { $0.action == .load && $0.model == "styled/denoiser" })
        let run = try XCTUnwrap(fits.steps.first { $0.action == .run && $0.model == "styled/denoiser" })
        let budget = DeviceProfile(budgetBytes: load.weightBytes + run.activationBytes)
        XCTAssertNoThrow(try Planner(device: budget).plan(graph))
        var merged = graph
        for (key, model) in graph.models where model.identity.name == "styled/denoiser" {
            let model = try XCTUnwrap(model as? CatalogStageModel)
            merged.models[key] = CatalogStageModel(family: model.family, role: .denoiser, identity: model.identity,
                                                   adapters: ["big.safetensors:1"],
                                                   uploadScratchBytes: 2 * run.activationBytes)
        }
        XCTAssertThrowsError(try Planner(device: budget).plan(merged)) { error in
            guard case PlanError.doesNotFit(let stage, _, let needed, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(stage, "styled-shot/denoise")
            XCTAssertGreaterThan(needed, budget.budgetBytes)
        }
    }

    func testAFileThatIsNoLoRAIsReportedAtItsField() throws {
        try Data("not safetensors".utf8).write(to: folder.appendingPathComponent("broken.safetensors"))
        XCTAssertThrowsError(try prepare("[broken.safetensors]")) { error in
            XCTAssertTrue("\(error)".contains("film.yaml:3:40: models.styled.loras[0]: "), "\(error)")
        }
        XCTAssertThrowsError(try prepare("[missing.safetensors]")) { error in
            XCTAssertTrue("\(error)".contains("LoRA 'missing.safetensors' of model 'styled' not found"), "\(error)")
        }
    }
}
