import Foundation
import KinoraModels
import KinoraTensor
import XCTest

/// `CLIPTextModelWithProjection` against transformers 5.23 on a tiny random model of SDXL's OpenCLIP-bigG encoder.
final class CLIPTextModelWithProjectionTests: ModelTestCase {
    private func checkOutputs(half: Bool, tolerance: Double) throws {
        let fixture = try CLIPFixture("sdxl_openclip_g", half: half, test: self)
        let model = try CLIPTextModelWithProjection(configuration: fixture.configuration, weights: fixture.weights)
        let graph = makeGraph()
        let output = try model(graph, inputIDs: fixture.inputIDs)
        let textEmbeds = try XCTUnwrap(output.textEmbeds)
        let sdxl = try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil)
        let tensors = try graph.run([output.lastHiddenState, sdxl, textEmbeds] + output.hiddenStates)
        XCTAssertEqual(tensors[2].shape, [2, 24])
        let names = ["last_hidden_state", "hidden_states.2", "text_embeds"] + (0...3).map { "hidden_states.\($0)" }
        var worst = 0.0
        for (tensor, name) in zip(tensors, names) {
            let actual = try tensor.floats(), expected = try fixture.values(name)
            worst = max(worst, relativeL2(actual, expected))
            assertClose(actual, expected, tolerance: tolerance, "\(half ? "fp16" : "fp32") \(name)")
        }
        print("OpenCLIP-bigG \(half ? "fp16" : "fp32"): worst relative L2 \(worst)")
    }

    func testCLIPTextModelWithProjectionMatchesTransformers() throws {
        try checkOutputs(half: false, tolerance: 1e-3)
    }

    func testCLIPTextModelWithProjectionFP16WeightsStayCloseToFP32Reference() throws {
        try checkOutputs(half: true, tolerance: 3e-3)
    }

    func testCLIPPooledPositionIsFirstEOSForCurrentConfigs() throws {
        let fixture = try CLIPFixture("sdxl_openclip_g", test: self)
        let model = try CLIPTextModelWithProjection(configuration: fixture.configuration, weights: fixture.weights)
        XCTAssertEqual(fixture.configuration.eosTokenId, 997)
        // The second prompt holds an added token (998) above EOS: argmax would pick it, transformers picks EOS.
        XCTAssertTrue(fixture.inputIDs[1].contains(998))
        XCTAssertEqual(model.textModel.eosPositions(fixture.inputIDs),
                       try fixture.values("eos_positions").map { Int($0) })
        XCTAssertEqual(model.textModel.eosPositions([[996, 998, 997, 997]]), [2])
    }

    func testCLIPTextModelWithProjectionNeedsTextProjection() throws {
        let fixture = try CLIPFixture("sd1_clip_l", test: self)
        XCTAssertThrowsError(try CLIPTextModelWithProjection(configuration: fixture.configuration,
                                                             weights: fixture.weights)) { error in
            XCTAssertTrue("\(error)".contains("text_projection.weight"), "\(error)")
        }
    }
}
