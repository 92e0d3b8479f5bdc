import XCTest

@testable import KinoraPipeline

final class StageKeysTests: XCTestCase {
    private func keys(_ text: String) throws -> [String: String] {
        StageKeys.compute(try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final))
    }

    func testEditingOneShotChangesOnlyItsStagesAndWhatDependsOnThem() throws {
        let text = try String(contentsOf: TestSupport.stills, encoding: .utf8)
        let before = try keys(text)
        let after = try keys(text.replacingOccurrences(of: "a busy morning fish market", with: "an empty fish market"))
        let changed = Set(before.keys.filter { before[$0] != after[$0] })
        XCTAssertEqual(changed, ["market/encode-text", "market/denoise", "market/decode", "market/animate",
                                 "video/encode", "output/mux"])
        XCTAssertEqual(Set(before.values).count, before.count, "keys are distinct")
        XCTAssertTrue(before.values.allSatisfy { $0.count == 64 })
    }

    func testPromptSyntaxIsInTheEncodedTextKey() throws {
        let text = try String(contentsOf: TestSupport.stills, encoding: .utf8)
        let before = try keys(text)
        let after = try keys(text.replacingOccurrences(of: "    seed: 5678\n",
                                                       with: "    seed: 5678\n    prompt_syntax: a1111\n"))
        let changed = Set(before.keys.filter { before[$0] != after[$0] })
        XCTAssertEqual(changed, ["market/encode-text", "market/denoise", "market/decode", "market/animate",
                                 "video/encode", "output/mux"])
    }

    func testSeedAndModelFilesAreInTheKey() throws {
        let text = try String(contentsOf: TestSupport.stills, encoding: .utf8)
        let before = try keys(text)
        let reseeded = try keys(text.replacingOccurrences(of: "seed: 1234", with: "seed: 1235"))
        XCTAssertEqual(before["harbour/encode-text"], reseeded["harbour/encode-text"])
        XCTAssertNotEqual(before["harbour/denoise"], reseeded["harbour/denoise"])

        let workflow = try TestSupport.stillsWorkflow()
        let graph = try TestSupport.builder().build(workflow, mode: .final)
        var replaced = graph
        for (key, model) in graph.models where model.identity.name == "hero/decoder" {
            guard let catalogModel = model as? CatalogStageModel else { return XCTFail("unexpected model type") }
            var identity = catalogModel.identity
            identity.fingerprint = "metadata:new-file"
            replaced.models[key] = CatalogStageModel(family: catalogModel.family, role: .decoder, identity: identity)
        }
        let original = StageKeys.compute(graph), updated = StageKeys.compute(replaced)
        XCTAssertEqual(original["harbour/denoise"], updated["harbour/denoise"])
        XCTAssertNotEqual(original["harbour/decode"], updated["harbour/decode"])
    }
}
