import Foundation
import XCTest

@testable import KinoraPipeline

final class RenderPreparationTests: XCTestCase {
    /// A workflow with one tiny-sd15 shot and one line spoken by the voice at `voice.onnx` next to it.
    private func makeWorkflow() throws -> URL {
        let folder = try TestSupport.temporaryFolder(self)
        let text = """
            version: 1
            output: {file: out.mp4, size: 64x64, fps: 24, codec: h264}
            models:
              hero: {catalog: tiny-sd15}
              narrator: {path: voice.onnx, family: piper-vits}
            shots:
              - id: one
                prompt: a boat
                seed: 1
                duration: 2
                final: {model: hero, steps: 2}
            voices:
              - id: hello
                text: Hello.
                voice: narrator
                start: 0
            """
        try Data(text.utf8).write(to: folder.appendingPathComponent("film.yaml"))
        try Data("onnx".utf8).write(to: folder.appendingPathComponent("voice.onnx"))
        try Data(#"{"audio": {"sample_rate": 22050}}"#.utf8).write(to: folder.appendingPathComponent("voice.onnx.json"))
        return folder.appendingPathComponent("film.yaml")
    }

    private func voiceFingerprint(_ workflow: URL) throws -> String {
        let preparation = try RenderPreparation.prepare(
            workflow: workflow, mode: .final, catalogFolder: TestSupport.catalogFolder,
            searchPaths: ModelSearchPaths(roots: [TestSupport.catalogFolder]),
            device: DeviceProfile(budgetBytes: 1 << 30))
        let voice = try XCTUnwrap(preparation.graph.models.values.first { $0.identity.family == "piper-vits" })
        return voice.identity.fingerprint
    }

    func testEditingTheVoiceConfigChangesTheVoiceFingerprint() throws {
        let workflow = try makeWorkflow()
        let before = try voiceFingerprint(workflow)
        XCTAssertEqual(try voiceFingerprint(workflow), before)
        // Same size, so only the companion file's content and time differ.
        let config = workflow.deletingLastPathComponent().appendingPathComponent("voice.onnx.json")
        try Data(#"{"audio": {"sample_rate": 16000}}"#.utf8).write(to: config)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)],
                                              ofItemAtPath: config.path)
        XCTAssertNotEqual(try voiceFingerprint(workflow), before,
                          "the .onnx.json holds the phoneme map and sample rate")
    }

    /// A workflow with a shot on a single-file checkpoint whose reference names a tokenizer and a configuration,
    /// and a shot on the tiny catalog model, each with its files beside it.
    private func makeSingleFileWorkflow(prediction: String = "eps") throws -> URL {
        let folder = try TestSupport.temporaryFolder(self)
        let text = """
            version: 1
            output: {file: out.mp4, size: 64x64, fps: 24, codec: h264}
            models:
              hero: {path: hero.safetensors, family: sd15, prediction: \(prediction), tokenizer: tok, config: cfg}
              plain: {catalog: tiny-sd15}
            shots:
              - {id: one, prompt: a boat, seed: 1, duration: 1, final: {model: hero, steps: 2}}
              - {id: two, prompt: a boat, seed: 1, duration: 1, final: {model: plain, steps: 2}}
            """
        try Data(text.utf8).write(to: folder.appendingPathComponent("film.yaml"))
        try Data("weights".utf8).write(to: folder.appendingPathComponent("hero.safetensors"))
        for file in ["tok/vocab.json", "tok/merges.txt", "cfg/unet/config.json", "cfg/vae/config.json"] {
            let url = folder.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: url)
        }
        return folder.appendingPathComponent("film.yaml")
    }

    private func prepare(_ workflow: URL) throws -> RenderPreparation {
        try RenderPreparation.prepare(workflow: workflow, mode: .final, catalogFolder: TestSupport.catalogFolder,
                                      searchPaths: ModelSearchPaths(roots: [TestSupport.catalogFolder]),
                                      device: DeviceProfile(budgetBytes: 1 << 40))
    }

    /// Rewrites `file` (relative to the workflow's folder) with other content of the same size and another time.
    private func edit(_ file: String, besides workflow: URL) throws {
        let url = workflow.deletingLastPathComponent().appendingPathComponent(file)
        try Data("[]".utf8).write(to: url)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)],
                                              ofItemAtPath: url.path)
    }

    func testEditingAFileAReferenceNamesChangesTheKeysOfOnlyThatModelsStages() throws {
        let workflow = try makeSingleFileWorkflow()
        let before = StageKeys.compute(try prepare(workflow).graph)
        XCTAssertEqual(StageKeys.compute(try prepare(workflow).graph), before, "unchanged files keep every key")
        let heroStages: Set = ["one/encode-text", "one/denoise", "one/decode", "one/animate", "video/encode",
                               "output/mux"]
        var previous = before
        for file in ["cfg/vae/config.json", "tok/merges.txt"] {
            try edit(file, besides: workflow)
            let after = StageKeys.compute(try prepare(workflow).graph)
            XCTAssertEqual(Set(after.keys.filter { after[$0] != previous[$0] }), heroStages, file)
            previous = after
        }
        let plain = try prepare(workflow).graph.models.values.filter { $0.identity.name.hasPrefix("plain/") }
        XCTAssertEqual(plain.count, 3)
        XCTAssertTrue(plain.allSatisfy { !$0.identity.fingerprint.hasPrefix("options:") },
                      "a model without single-file options keeps its weights' fingerprint (and its cache entries)")
    }

    func testThePredictionTypeIsPartOfTheModelsIdentity() throws {
        let epsilon = try prepare(try makeSingleFileWorkflow(prediction: "eps")).graph.models.values
        let velocity = try prepare(try makeSingleFileWorkflow(prediction: "v")).graph.models.values
        let identities = { (models: Dictionary<String, any StageModel>.Values) in
            Dictionary(uniqueKeysWithValues: models.map { ($0.identity.name, $0.identity.fingerprint) })
        }
        let (a, b) = (identities(epsilon), identities(velocity))
        XCTAssertNotEqual(a["hero/denoiser"], b["hero/denoiser"])
        XCTAssertEqual(a["plain/denoiser"], b["plain/denoiser"])
        XCTAssertEqual(ModelIdentity.fingerprint(weights: "w", options: []), "w")
        XCTAssertEqual(ModelIdentity.fingerprint(weights: "w", options: [("a", "1"), ("b", "2")]),
                       ModelIdentity.fingerprint(weights: "w", options: [("b", "2"), ("a", "1")]))
        XCTAssertNotEqual(ModelIdentity.fingerprint(weights: "w", options: [("a", "12")]),
                          ModelIdentity.fingerprint(weights: "w", options: [("a1", "2")]))
    }

    func testTheDefaultTokenizerASingleFileFallsBackToIsPartOfItsIdentity() throws {
        let workflow = try makeSingleFileWorkflow()
        let text = try String(contentsOf: workflow, encoding: .utf8)
        try Data(text.replacingOccurrences(of: ", tokenizer: tok, config: cfg", with: "").utf8).write(to: workflow)
        let bpe = workflow.deletingLastPathComponent().appendingPathComponent("bpe.txt")
        try Data("#version: 0.2\na b\n".utf8).write(to: bpe)
        let saved = ProcessInfo.processInfo.environment["KINORA_CLIP_BPE"]
        setenv("KINORA_CLIP_BPE", bpe.path, 1)
        defer {
            if let saved { setenv("KINORA_CLIP_BPE", saved, 1) } else { unsetenv("KINORA_CLIP_BPE") }
        }
        let fingerprint = { try self.prepare(workflow).graph.models.values
            .first { $0.identity.name == "hero/text_encoder" }?.identity.fingerprint }
        let before = try fingerprint()
        try edit("bpe.txt", besides: workflow)
        XCTAssertNotEqual(try fingerprint(), before, "the merges decide the tokens")
        let plain = try prepare(workflow).graph.models.values.first { $0.identity.name == "plain/text_encoder" }
        XCTAssertEqual(plain?.identity.fingerprint.hasPrefix("options:"), false, "a diffusers folder has its own")
    }

    func testAMissingTokenizerIsRefusedNamingTheField() throws {
        let workflow = try makeSingleFileWorkflow()
        try FileManager.default.removeItem(at: workflow.deletingLastPathComponent().appendingPathComponent("tok"))
        XCTAssertThrowsError(try prepare(workflow)) { error in
            XCTAssertTrue("\(error)".contains("models.hero.tokenizer"), "\(error)")
            XCTAssertTrue("\(error)".contains("no such file or folder"), "\(error)")
        }
    }
}
