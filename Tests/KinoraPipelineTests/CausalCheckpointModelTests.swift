import Foundation
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// A workflow's video model given as a causal model's single training checkpoint (as Self-Forcing's
/// `self_forcing_dmd.pt`), its VAE, text encoder, tokenizer and configuration taken from a base diffusers folder: the
/// tiny Wan 2.1's transformer written as such a `.pt`, with tiny-wan21's folder (the catalog's base of
/// tiny-wan21-causal) as its base. Its cache keys fingerprint both; its stream is planned over both; a base of
/// another architecture or a checkpoint without a generator is refused naming file, line and field.
final class CausalCheckpointModelTests: XCTestCase {
    static let fixture = TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-pipeline/t2v")

    /// Two seconds of stream (3 chunks) by `fox`, the checkpoint; `folder` is the same weights as a diffusers folder
    /// (by path: the catalog's names would find the checkpoint in the models folder first).
    static let workflow = """
        output: {file: out.mp4, size: 64x64, fps: 8}
        models:
          fox: {path: tiny_self_forcing.pt, family: tiny-wan21-causal}
          folder: {path: '\(fixture.path)', family: tiny-wan21-causal}
        shots:
          - id: run
            prompt: a fox runs through snow
            seed: 5
            duration: 2
            motion: stream
            final: {model: fox}
        """

    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    /// A folder with the workflow `text` and a models folder holding `diffusion_models/tiny_self_forcing.pt`.
    private func workspace(_ text: String = workflow) throws -> (workflow: URL, models: URL) {
        let folder = try TestSupport.temporaryFolder(self)
        let models = folder.appendingPathComponent("models")
        let checkpoint = models.appendingPathComponent("diffusion_models/tiny_self_forcing.pt")
        try FileManager.default.createDirectory(at: checkpoint.deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try WanTrainingCheckpoint.write(transformer: Self.fixture.appendingPathComponent("transformer"),
                                        to: checkpoint)
        let workflow = folder.appendingPathComponent("w.yaml")
        try Data(text.utf8).write(to: workflow)
        return (workflow, models)
    }

    private func prepare(_ workflow: URL, models: URL, planningDevice: Bool = false) throws -> RenderPreparation {
        try RenderPreparation.prepare(
            workflow: workflow, mode: .final, catalogFolder: TestSupport.catalogFolder,
            searchPaths: ModelSearchPaths(roots: [models, TestSupport.catalogFolder]),
            device: DeviceProfile(budgetBytes: 1 << 30),
            planningDevice: planningDevice ? ValidatedTestDevice.shared : nil)
    }

    private func keys(_ workflow: URL, models: URL) throws -> [String: String] {
        StageKeys.compute(try prepare(workflow, models: models).graph)
    }

    /// The tiny fixture copied to `destination` with its linked folders (vae/) copied as folders.
    private func copyFixture(to destination: URL) throws {
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.fixture.path) {
            try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent(name).resolvingSymlinksInPath(),
                                             to: destination.appendingPathComponent(name))
        }
    }

    private func touch(_ url: URL, _ seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: seconds)],
                                              ofItemAtPath: url.path)
    }

    func testACheckpointTakesItsOtherPartsFromTheBaseAndItsKeysFingerprintBoth() throws {
        let (workflow, models) = try workspace()
        let preparation = try prepare(workflow, models: models)
        let chunk = try XCTUnwrap(preparation.graph.stage("run/chunk-1"))
        let key = try XCTUnwrap(preparation.graph.model(of: chunk)?.identity.key)
        XCTAssertEqual(preparation.locations[key]?.lastPathComponent, "tiny_self_forcing.pt")
        XCTAssertEqual(preparation.videoBases[key]?.path, Self.fixture.standardizedFileURL.path,
                       "tiny-wan21's folder: tiny-wan21-causal's base")
        let checkpoint = try keys(workflow, models: models)

        // The same weights as a diffusers folder are another model.
        let text = Self.workflow.replacingOccurrences(of: "final: {model: fox}", with: "final: {model: folder}")
        try Data(text.utf8).write(to: workflow)
        let folder = try keys(workflow, models: models)
        for stage in ["run/encode-text", "run/chunk-1", "run/decode"] {
            XCTAssertNotEqual(folder[stage], checkpoint[stage], stage)
        }

        // A base the workflow names, a copy of the folder: another base, other keys.
        let copy = workflow.deletingLastPathComponent().appendingPathComponent("base-copy")
        try copyFixture(to: copy)
        try Data(Self.workflow.replacingOccurrences(of: "family: tiny-wan21-causal}",
                                                    with: "family: tiny-wan21-causal, base: base-copy}").utf8)
            .write(to: workflow)
        let based = try keys(workflow, models: models)
        XCTAssertNotEqual(based["run/chunk-1"], checkpoint["run/chunk-1"])
        XCTAssertEqual(try keys(workflow, models: models), based, "nothing changed")
        // Any part the checkpoint takes from its base changes every key of the model...
        try touch(copy.appendingPathComponent("vae/config.json"), 1_000_000)
        let vaeEdited = try keys(workflow, models: models)
        for stage in ["run/encode-text", "run/chunk-1", "run/chunk-3", "run/decode"] {
            XCTAssertNotEqual(vaeEdited[stage], based[stage], stage)
        }
        try touch(copy.appendingPathComponent("tokenizer/spiece.model"), 1_000_000)
        XCTAssertNotEqual(try keys(workflow, models: models)["run/encode-text"], vaeEdited["run/encode-text"])
        // ...but the base's own transformer weights, which it does not use, change none.
        let unused = try keys(workflow, models: models)
        try touch(copy.appendingPathComponent("transformer/diffusion_pytorch_model.safetensors"), 1_000_000)
        XCTAssertEqual(try keys(workflow, models: models), unused)
        // The checkpoint itself does.
        try touch(models.appendingPathComponent("diffusion_models/tiny_self_forcing.pt"), 1_000_000)
        XCTAssertNotEqual(try keys(workflow, models: models)["run/chunk-1"], unused["run/chunk-1"])
    }

    /// A single transformer file is read with its base: the base's sizes, and whether the file is a training
    /// checkpoint (which a stream takes as causal) or another single file (ComfyUI's).
    func testASingleFileIsReadWithItsBaseAndSaysWhetherItIsATrainingCheckpoint() throws {
        let (_, models) = try workspace()
        let checkpoint = models.appendingPathComponent("diffusion_models/tiny_self_forcing.pt")
        let read = try VideoModelFolder.open(checkpoint, base: Self.fixture)
        XCTAssertEqual(read.url, checkpoint)
        XCTAssertEqual(read.base, Self.fixture)
        XCTAssertEqual([read.takesKeyframe ? 1 : 0, read.sizeMultiple, read.temporalScale], [0, 16, 4])
        XCTAssertTrue(read.isTrainingCheckpoint)
        let comfy = models.appendingPathComponent("diffusion_models/wan.safetensors")
        try WanComfyFile.write(transformer: Self.fixture.appendingPathComponent("transformer"), to: comfy)
        XCTAssertFalse(try VideoModelFolder.open(comfy, base: Self.fixture).isTrainingCheckpoint)
        XCTAssertThrowsError(try VideoModelFolder.open(Self.fixture, base: Self.fixture)) {
            XCTAssertTrue("\($0)".contains("is a diffusers folder with its own VAE"), "\($0)")
        }
        XCTAssertThrowsError(try VideoModelFolder.open(checkpoint, base: models)) {
            XCTAssertTrue("\($0)".hasPrefix(models.path + ": cannot serve as the base of tiny_self_forcing.pt: "),
                          "\($0)")
            XCTAssertEqual(($0 as? VideoModelFolder.Failure)?.concernsBase, true)
        }
    }

    /// The stream is planned by the stream planner over the checkpoint's transformer and the base's VAE and text
    /// encoder: the same bytes as the folder of the same weights.
    func testTheStreamIsPlannedOverTheCheckpointAndTheBasesParts() throws {
        let (workflow, models) = try workspace()
        let checkpoint = try prepare(workflow, models: models, planningDevice: true)
        try Data(Self.workflow.replacingOccurrences(of: "final: {model: fox}", with: "final: {model: folder}").utf8)
            .write(to: workflow)
        let folder = try prepare(workflow, models: models, planningDevice: true)
        for stage in ["run/encode-text", "run/chunk-1", "run/chunk-3", "run/decode"] {
            let planned = try [checkpoint, folder].map { preparation in
                let found = try XCTUnwrap(preparation.graph.stage(stage))
                let model = try XCTUnwrap(preparation.graph.model(of: found) as? PlannedVideoStageModel, stage)
                return try XCTUnwrap(model.activation[stage], stage)
            }
            XCTAssertGreaterThan(planned[0], 0, stage)
            XCTAssertEqual(planned[0], planned[1], stage)
        }
    }

    /// A base of another architecture than the checkpoint's, or a checkpoint holding no generator, is refused while
    /// the workflow is prepared, naming the line and field: the base's when the workflow names it.
    func testABaseOfAnotherArchitectureOrACheckpointWithoutAGeneratorIsRefusedNamingTheField() throws {
        func issues(_ text: String, _ checkpoint: (URL) throws -> Void) throws -> [SourceIssue] {
            let (workflow, models) = try workspace(text)
            try checkpoint(models.appendingPathComponent("diffusion_models/tiny_self_forcing.pt"))
            return TestSupport.issues { _ = try prepare(workflow, models: models) }
        }
        // The tiny Wan transformer fixture: 4 input channels and a text width of 16, against the base's 8 and 32.
        let other = TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-transformer")
        let wrongArchitecture = { (url: URL) in try WanTrainingCheckpoint.write(transformer: other, to: url) }
        let implicit = try issues(Self.workflow, wrongArchitecture)
        XCTAssertEqual(implicit.map(\.field), ["models.fox"])
        XCTAssertEqual(implicit.first?.location.line, 3)
        let message = implicit.first?.message ?? ""
        XCTAssertTrue(message.contains("tiny_self_forcing.pt: is not of the base's architecture ("), message)
        XCTAssertTrue(message.contains("t2v/transformer/config.json): "), message)
        XCTAssertTrue(message.contains("patch_embedding.weight"), message)

        let named = Self.workflow.replacingOccurrences(of: "family: tiny-wan21-causal}",
                                                       with: "family: tiny-wan21-causal,\n        base: tiny-wan21}")
        let explicit = try issues(named, wrongArchitecture)
        XCTAssertEqual(explicit.map(\.field), ["models.fox.base"])
        XCTAssertEqual(explicit.first?.location.line, 4)

        // A training checkpoint with no Wan transformer in it (an optimizer's state alone).
        let noGenerator = try issues(Self.workflow) { url in
            let state = RandomWeightStore(shapes: ["state.0.exp_avg": [4, 4]], sourceName: "optimizer")
            try TorchCheckpointWriter.write(state, wrapper: "optimizer", to: url)
        }
        XCTAssertEqual(noGenerator.map(\.field), ["models.fox"])
        let expected = "under 'generator_ema' or 'generator', and this one's top-level keys are 'optimizer'"
        XCTAssertTrue(noGenerator.first?.message.contains(expected) == true, "\(noGenerator)")
    }
}
