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
}
