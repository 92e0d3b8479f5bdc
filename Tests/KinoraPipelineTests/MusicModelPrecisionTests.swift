import Foundation
import KinoraMedia
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// A music model's `precision:` in a workflow: its generated cues are planned in it (`PlannedMusicStageModel`, from
/// the family's own planner) and its runner opens the Stable Audio or MusicGen pipeline in it, as `kinora music
/// --precision` runs them; `auto` is the weights' type (f32 for the tiny fixtures).
final class MusicModelPrecisionTests: XCTestCase {
    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    static let workflow = """
        output: {size: 64x64, fps: 8}
        models:
          hero: {catalog: tiny-sd15}
          sao: {catalog: tiny-stable-audio}
          sao16: {catalog: tiny-stable-audio, precision: f16}
          gen: {catalog: tiny-musicgen}
          genbf: {catalog: tiny-musicgen, precision: bf16}
        shots:
          - {id: one, prompt: a harbour, duration: 2, final: {model: hero, steps: 1, cfg: 1}}
        music:
          - {id: a, prompt: a calm pad, model: sao, seconds: 1.5, steps: 2}
          - {id: b, prompt: a calm pad, model: sao16, seconds: 1.5, steps: 2}
          - {id: c, prompt: a calm pad, model: gen, seconds: 0.2}
          - {id: d, prompt: a calm pad, model: genbf, seconds: 0.2}
        """

    private func prepare() throws -> RenderPreparation {
        try TestSupport.prepare(Self.workflow, for: self)
    }

    /// The music model of cue `id` and its generate stage.
    private func model(of id: String, in graph: StageGraph) throws -> (PlannedMusicStageModel, Stage) {
        let stage = try XCTUnwrap(graph.stages.first { $0.id.hasPrefix("\(id)/") && $0.model != nil }, id)
        let model = try XCTUnwrap(graph.models[try XCTUnwrap(stage.model)] as? PlannedMusicStageModel, id)
        return (model, stage)
    }

    func testACuesModelIsPlannedInItsPrecision() throws {
        let graph = try prepare().graph
        for (auto, half, precision) in [("a", "b", ActivationPrecision.fp16), ("c", "d", .bf16)] {
            let (full, fullStage) = try model(of: auto, in: graph)
            let (reduced, reducedStage) = try model(of: half, in: graph)
            XCTAssertNil(full.identity.activationPrecision)
            XCTAssertEqual(reduced.identity.activationPrecision, precision)
            XCTAssertEqual(reduced.weightBytes, full.weightBytes, "the weights keep their type")
            let (f32, f16) = (full.activationBytes(for: [fullStage], tactic: Tactic()),
                              reduced.activationBytes(for: [reducedStage], tactic: Tactic()))
            print("\(full.identity.family) cue planned beside its weights: auto (f32) \(f32), \(precision) \(f16)")
            XCTAssertLessThan(f16, f32, "\(reduced.identity.name)")
        }
    }

    /// The runner opens each generator in its model's precision, and the cue it makes is that precision's: the
    /// Stable Audio model at f16 makes other samples than at `auto` (f32), near diffusers' f32 reference.
    func testTheRunnerOpensEachGeneratorInItsModelsPrecision() throws {
        let preparation = try prepare()
        let runner = ChainStageRunner(
            device: ValidatedTestDevice.shared, workflow: preparation.workflow, workflowFolder: TestSupport.root,
            locations: preparation.locations)
        var made: [String: [Float]] = [:]
        for id in ["a", "b", "c", "d"] {
            let (model, _) = try model(of: id, in: preparation.graph)
            try runner.load(model, streamed: false)
            defer { try? runner.evict(model) }
            let generator = try XCTUnwrap(runner.musicGenerators[model.identity.key])
            let request = MusicRequest(prompt: "a calm pad", seconds: 1.5, steps: 2, cfg: 3, seed: 1)
            switch generator {
            case let pipeline as StableAudioPipeline:
                XCTAssertEqual(pipeline.precision, model.identity.activationPrecision, id)
                XCTAssertEqual(pipeline.transformer.activationType(pipeline.precision), id == "a" ? .f32 : .f16, id)
                made[id] = try pipeline.generate(request) { _, _ in }.samples
            case let pipeline as MusicGenPipeline:
                XCTAssertEqual(pipeline.precision, model.identity.activationPrecision, id)
                XCTAssertEqual(pipeline.decoder.activationType(pipeline.precision), id == "c" ? .f32 : .bf16, id)
            default:
                XCTFail("\(id): \(generator)")
            }
        }
        let (f32, f16) = (try XCTUnwrap(made["a"]), try XCTUnwrap(made["b"]))
        XCTAssertEqual(f32.count, f16.count)
        XCTAssertNotEqual(f32, f16, "the f16 model rounds its activations")
        let difference = zip(f32, f16).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
        let norm = f32.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        // Within the pipeline's f16 bound against diffusers (`StableAudioHalfPrecisionTests`: 5e-2).
        XCTAssertLessThanOrEqual(difference / norm, 5e-2)
    }
}
