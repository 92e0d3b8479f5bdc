import Foundation
import XCTest

@testable import KinoraPipeline

/// `examples/demo.yaml`, the README's main job: it must stay what the README says it is (moving shots from the video
/// models, one of them an autoregressive stream, Real-ESRGAN upscaling, RIFE interpolation, a generated cue beside
/// the voices and the bed), each model loaded once, within the default 2 GB budget of a card without a size, in
/// final and draft.
final class DemoWorkflowTests: XCTestCase {
    private func graph(_ mode: RenderMode) throws -> StageGraph {
        try TestSupport.builder().build(try Workflow.load(contentsOf: TestSupport.demo), mode: mode)
    }

    func testTheDemoMovesUpscalesInterpolatesAndGeneratesItsCue() throws {
        let built = try graph(.final)
        func model(_ id: String) -> String? { built.stage(id).flatMap { built.model(of: $0)?.identity.name } }
        XCTAssertEqual(model("harbour/keyframe/denoise"), "hero/denoiser")
        XCTAssertEqual(model("harbour/encode-keyframe"), "ti2v/decoder", "image to video from the keyframe")
        XCTAssertEqual(model("harbour/denoise"), "ti2v/denoiser")
        XCTAssertEqual(model("harbour/upscale"), "sharp/upscaler")
        XCTAssertEqual(model("market/chunk-1"), "stream/denoiser", "an autoregressive stream")
        XCTAssertEqual(built.stage("market/chunk-3")?.inputs.last, "market/chunk-2", "chunks chained, each cached")
        XCTAssertEqual(model("market/interpolate"), "rife/interpolator")
        XCTAssertEqual(model("lighthouse/upscale"), "sharp/upscaler")
        XCTAssertEqual(model("texture/generate"), "composer/music")
        XCTAssertEqual(model("welcome/speak"), "narrator/voice")
        XCTAssertEqual(built.stage("market/interpolate")?.parameters.string("fps"), "24", "16 fps raised to the cut's")
        XCTAssertEqual(built.stage("video/encode")?.inputs,
                       ["harbour/conform", "market/conform", "lighthouse/animate"])
        let audio = try XCTUnwrap(built.stage("audio/mix"))
        XCTAssertTrue(audio.inputs.contains("texture/generate"), "\(audio.inputs)")
        XCTAssertTrue(audio.inputs.contains("pad/load"), "\(audio.inputs)")
    }

    func testTheDemoFitsTheDefaultBudgetLoadingEachModelOnce() throws {
        for mode in [RenderMode.final, .draft] {
            let plan = try Planner(device: DeviceProfile(budgetBytes: 2 << 30)).plan(try graph(mode))
            XCTAssertLessThanOrEqual(plan.predictedPeakBytes, 2 << 30, "\(mode)")
            XCTAssertEqual(plan.loadCounts.values.max(), 1, "\(mode): \(plan.loadCounts)")
        }
    }
}

/// `examples/real-weights.yaml`: the demo's chain with the catalog's real models must stay valid and fit a 16 GB card
/// with the catalog's full-size figures, final and draft (no file is read: the models are
/// catalog figures).
final class RealWeightsWorkflowTests: XCTestCase {
    private let file = TestSupport.root.appendingPathComponent("examples/real-weights.yaml")

    func testTheRealWeightsExampleFitsA16GBCardInFinalAndDraft() throws {
        for mode in [RenderMode.final, .draft] {
            let graph = try TestSupport.builder().build(try Workflow.load(contentsOf: file), mode: mode)
            let plan = try Planner(device: DeviceProfile(budgetBytes: 16_000_000_000)).plan(graph)
            let marketPeak = plan.steps.filter { $0.stages.contains { $0.hasPrefix("market/") } }.map(\.peakBytes)
                .max() ?? 0
            print("RealWeightsWorkflowTests: \(mode) predicted peak \(plan.predictedPeakBytes) bytes, the market "
                  + "shot's \(marketPeak)")
            XCTAssertLessThanOrEqual(plan.predictedPeakBytes, 16_000_000_000, "\(mode)")
            // The market shot's draft is streamed by the causal workhorse (Self-Forcing's checkpoint); its final is a
            // clip of the 5B.
            let market = graph.stages.filter { $0.id.hasPrefix("market/chunk-") }
            XCTAssertEqual(market.count, mode == .draft ? 7 : 0, "\(mode): 5 s is 21 latent frames, 7 chunks")
            XCTAssertEqual(Set(market.compactMap { graph.model(of: $0)?.identity.family }),
                           mode == .draft ? ["wan21-causal-1.3b"] : [])
            // The text encoders and denoisers load once; a VAE (1.3 GB) may be evicted to make room for the DiT
            // between the keyframe's encode and the clips' decode.
            let large = plan.loadCounts.filter { !$0.key.hasSuffix("/decoder") }
            XCTAssertEqual(large.values.max(), 1, "\(mode): \(plan.loadCounts)")
            XCTAssertLessThanOrEqual(plan.loadCounts.values.max() ?? 0, 2, "\(mode): \(plan.loadCounts)")
        }
    }
}
