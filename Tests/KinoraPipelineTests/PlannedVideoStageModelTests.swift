import Foundation
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// The memory a planned video model (`PlannedVideoStageModel`) gives clips denoised together, on the tiny Wan 2.1
/// (`tiny-wan21`) planned on the device: as many clips of one batch signature as the graph has, while the batch's
/// planned peak fits the render's budget and its buffers the device's largest; the planner runs them as one step.
final class PlannedVideoStageModelTests: XCTestCase {
    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    /// Two clips of 64x64 and a third of 96x64, 9 frames each.
    static let workflow = """
        output: {size: 64x64, fps: 8}
        models:
          t2v: {catalog: tiny-wan21}
        shots:
          - {id: a, prompt: waves, seed: 3, duration: 0.5, motion: video, final: {model: t2v, steps: 2, cfg: 3}}
          - {id: b, prompt: a kite, seed: 4, duration: 0.5, motion: video, final: {model: t2v, steps: 2, cfg: 3}}
          - id: c
            prompt: snow
            duration: 0.5
            motion: video
            final: {model: t2v, steps: 2, cfg: 3, size: 96x64}
        """

    private func prepare(_ text: String = workflow) throws -> RenderPreparation {
        try TestSupport.prepare(text, for: self)
    }

    func testClipsOfOneSignatureAreBatchedAsTheBudgetAndTheDeviceBufferAllow() throws {
        let device = ValidatedTestDevice.shared
        let preparation = try prepare()
        let graph = preparation.graph
        let a = try XCTUnwrap(graph.stage("a/denoise")), b = try XCTUnwrap(graph.stage("b/denoise"))
        let c = try XCTUnwrap(graph.stage("c/denoise"))
        XCTAssertEqual(a.batchSignature, b.batchSignature)
        XCTAssertNotEqual(a.batchSignature, c.batchSignature, "another size")
        let key = try XCTUnwrap(a.model)
        let roomy = try XCTUnwrap(graph.models[key] as? PlannedVideoStageModel)
        XCTAssertEqual([roomy.maximumBatch(for: a), roomy.maximumBatch(for: c)], [2, 1])
        let one = roomy.activationBytes(for: [a], tactic: Tactic())
        let two = roomy.activationBytes(for: [a, b], tactic: Tactic())
        XCTAssertGreaterThan(two, one, "the second clip's latents, prompts and activations")
        XCTAssertLessThan(two, 2 * one, "the weights' constants once")
        let run = try XCTUnwrap(preparation.plan.steps.first { $0.action == .run && $0.stages.contains(a.id) })
        XCTAssertEqual(run.stages, [a.id, b.id])
        XCTAssertEqual(run.tactic?.batch, 2)

        // The planner's peaks of one clip and of two, at a budget between them the clips go one at a time.
        let parts = try WanStageComponents(folder: try XCTUnwrap(preparation.locations[key]))
        let request = WanGenerationRequest(width: 64, height: 64, frames: 9)
        let single = try XCTUnwrap(WanMemoryPlanner.plan(parts, request, device: device).stage(.denoise))
        let pair = try WanMemoryPlanner.batchedDenoise(parts, request, batch: 2, device: device).stage
        XCTAssertEqual(two, pair.peakBytes - pair.weightBytes)
        var catalogGraph = graph
        for (key, model) in graph.models {
            if let planned = model as? PlannedVideoStageModel { catalogGraph.models[key] = planned.catalog }
        }
        let tight = try PlannedVideoStageModel.plan(
            catalogGraph, models: preparation.videoModels, locations: preparation.locations, device: device,
            budget: (single.peakBytes + pair.peakBytes) / 2)
        let model = try XCTUnwrap(tight[key])
        XCTAssertEqual(model.maximumBatch(for: a), 1)
        var tightGraph = graph
        tightGraph.models.merge(tight) { $1 }
        let steps = try Planner(device: DeviceProfile(budgetBytes: 1 << 30)).plan(tightGraph).steps
        XCTAssertEqual(steps.filter { $0.action == .run && $0.kind == .denoise }.map(\.stages),
                       [[a.id], [b.id], [c.id]])

        // With the weights streamed, a batch goes while its streamed peak fits the budget; a batch that fits only by
        // streaming them is not taken for clips that hold them resident.
        let streamedPair = try WanMemoryPlanner.batchedDenoise(parts, request, batch: 2, budget: 1, device: device)
        let streamedOne = try WanMemoryPlanner.batchedDenoise(parts, request, batch: 1, budget: 1, device: device)
        XCTAssertTrue(streamedPair.streamed)
        XCTAssertLessThan(streamedPair.stage.peakBytes, pair.peakBytes)
        for (budget, streamed, expected) in [
            ((streamedOne.stage.peakBytes + streamedPair.stage.peakBytes) / 2, true, 0),
            (streamedPair.stage.peakBytes, true, 1), (streamedPair.stage.peakBytes, false, 0),
        ] {
            let batches = try PlannedVideoStageModel.batchActivation(
                parts, request, peers: 3, streamed: streamed, budget: budget, device: device)
            XCTAssertEqual(batches.count, expected, "budget \(budget), one clip streamed: \(streamed)")
        }

        // A batch whose buffers the device cannot make is not planned, whatever the budget.
        for (limit, expected) in [(pair.largestBufferBytes, 1), (pair.largestBufferBytes - 1, 0)] {
            let batches = try PlannedVideoStageModel.batchActivation(
                parts, request, peers: 2, streamed: false, budget: nil, largestBuffer: limit, device: device)
            XCTAssertEqual(batches.count, expected, "largest buffer \(limit)")
        }
    }

    /// A model's `precision:` reaches its clips: each is planned in it (the committed tiny Wan's F32 weights run f32
    /// by default, half the activation bytes at f16), and every stage of the clip is keyed on it, so a clip made at
    /// f32 is never reused for f16.
    func testAClipIsPlannedAndKeyedInItsModelsPrecision() throws {
        func prepared(_ precision: String) throws -> RenderPreparation {
            try prepare(TestSupport.replacing("{catalog: tiny-wan21}", with: "{catalog: tiny-wan21, precision: "
                                              + "\(precision)}", in: Self.workflow))
        }
        let half = try prepared("f16"), full = try prepared("f32"), auto = try prepare()
        func denoiseBytes(_ preparation: RenderPreparation) throws -> UInt64 {
            let stage = try XCTUnwrap(preparation.graph.stage("a/denoise"))
            let model = try XCTUnwrap(preparation.graph.models[try XCTUnwrap(stage.model)] as? PlannedVideoStageModel)
            return model.activationBytes(for: [stage], tactic: Tactic())
        }
        let parts = try WanStageComponents(folder: try XCTUnwrap(half.locations.values.first))
        for (preparation, precision) in [(half, ActivationPrecision.fp16), (full, .fp32)] {
            let request = WanGenerationRequest(width: 64, height: 64, frames: 9, guidance: true, precision: precision)
            let planned = try XCTUnwrap(
                WanMemoryPlanner.plan(parts, request, device: ValidatedTestDevice.shared).stage(.denoise))
            XCTAssertEqual(try denoiseBytes(preparation), planned.peakBytes - planned.weightBytes, "\(precision)")
        }
        XCTAssertLessThan(try denoiseBytes(half), try denoiseBytes(full))
        XCTAssertEqual(try denoiseBytes(auto), try denoiseBytes(full), "F32 weights run f32")

        let keys = [half, full, auto].map { StageKeys.compute($0.graph) }
        for id in ["a/encode-text", "a/denoise", "a/decode", "c/conform"] {
            XCTAssertEqual(Set(keys.map { $0[id] }).count, 3, id)
        }
    }
}
