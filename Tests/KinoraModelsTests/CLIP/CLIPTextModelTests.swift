import Foundation
import KinoraModels
import KinoraTensor
import XCTest

/// `CLIPTextModel` against transformers 5.23 on tiny random models of SD 1.x's CLIP-L and SD 2.x's OpenCLIP-H.
final class CLIPTextModelTests: ModelTestCase {
    /// fp32 weights: relative L2 error bound on every output.
    let fp32Tolerance = 1e-3
    /// fp16 weights against the fp32 reference: fp16 rounding of the weights (relative 2⁻¹¹) carried through three
    /// layers measured 6.0e-4 to 6.5e-4 on lavapipe; the bound leaves room for other drivers' summation orders.
    let fp16Tolerance = 3e-3

    /// Runs `model` on the fixture's ids and checks every output against transformers'.
    private func checkOutputs(_ fixture: CLIPFixture, tolerance: Double, label: String) throws {
        let model = try CLIPTextModel(configuration: fixture.configuration, weights: fixture.weights)
        let graph = makeGraph()
        let output = try model(graph, inputIDs: fixture.inputIDs)
        let clipSkip = try model.stableDiffusionPromptEmbeds(graph, output: output, clipSkip: 1)
        let tensors = try graph.run([output.lastHiddenState, output.pooledOutput, clipSkip] + output.hiddenStates)
        XCTAssertEqual(tensors[0].shape, [2, 77, 32])
        XCTAssertEqual(tensors[1].shape, [2, 32])
        var errors: [String: Double] = [:]
        func compare(_ tensor: Tensor, _ name: String) throws {
            let actual = try tensor.floats(), expected = try fixture.values(name)
            errors[name] = relativeL2(actual, expected)
            assertClose(actual, expected, tolerance: tolerance, "\(label) \(name)")
        }
        try compare(tensors[0], "last_hidden_state")
        try compare(tensors[1], "pooler_output")
        try compare(tensors[2], "sd_clip_skip_1")
        for (index, tensor) in tensors.dropFirst(3).enumerated() {
            try compare(tensor, "hidden_states.\(index)")
        }
        let worst = errors.max { $0.value < $1.value }
        print("\(label): worst relative L2 \(worst?.value ?? 0) (\(worst?.key ?? ""))")
    }

    func testCLIPTextModelQuickGELUMatchesTransformers() throws {
        try checkOutputs(CLIPFixture("sd1_clip_l", test: self), tolerance: fp32Tolerance, label: "CLIP-L fp32")
    }

    func testCLIPTextModelGELUWithTextModelPrefixMatchesTransformers() throws {
        try checkOutputs(CLIPFixture("sd2_openclip_h", test: self), tolerance: fp32Tolerance, label: "OpenCLIP-H fp32")
    }

    func testCLIPTextModelFP16WeightsStayCloseToFP32Reference() throws {
        try checkOutputs(CLIPFixture("sd1_clip_l", half: true, test: self), tolerance: fp16Tolerance,
                         label: "CLIP-L fp16")
        try checkOutputs(CLIPFixture("sd2_openclip_h", half: true, test: self), tolerance: fp16Tolerance,
                         label: "OpenCLIP-H fp16")
    }

    func testCLIPPooledPositionFollowsLegacyArgmaxRule() throws {
        let fixture = try CLIPFixture("sd1_clip_l", test: self)
        let model = try CLIPTextModel(configuration: fixture.configuration, weights: fixture.weights)
        XCTAssertEqual(fixture.configuration.eosTokenId, 2)
        XCTAssertEqual(model.eosPositions(fixture.inputIDs), try fixture.values("eos_positions").map { Int($0) })
        // eos_token_id 2: the first position of the largest id, whatever token it is.
        XCTAssertEqual(model.eosPositions([[998, 5, 999, 7, 999, 0]]), [2])
        XCTAssertEqual(model.eosPositions([[998, 5, 7]]), [0])
    }

    func testCLIPClipSkipFollowsDiffusersPipelines() throws {
        let fixture = try CLIPFixture("sd1_clip_l", test: self)
        let model = try CLIPTextModel(configuration: fixture.configuration, weights: fixture.weights)
        let graph = makeGraph()
        let output = try model(graph, inputIDs: fixture.inputIDs)
        XCTAssertEqual(try model.stableDiffusionPromptEmbeds(graph, output: output, clipSkip: nil),
                       output.lastHiddenState)
        XCTAssertEqual(try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: nil),
                       output.penultimateHiddenState)
        XCTAssertEqual(try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: 1),
                       output.hiddenStates[1])
        // clip_skip 0 is final_layer_norm(hidden_states[-1]): last_hidden_state, recomputed.
        let noSkip = try model.stableDiffusionPromptEmbeds(graph, output: output, clipSkip: 0)
        let tensors = try graph.run([noSkip])
        assertClose(try tensors[0].floats(), try fixture.values("last_hidden_state"), tolerance: fp32Tolerance)
        XCTAssertThrowsError(try model.stableDiffusionPromptEmbeds(graph, output: output, clipSkip: 4)) { error in
            XCTAssertEqual(error as? CLIPError, .invalidClipSkip(clipSkip: 4, maximum: 3))
        }
        XCTAssertThrowsError(try CLIPTextModel.stableDiffusionXLPromptEmbeds(output: output, clipSkip: 3)) { error in
            XCTAssertEqual(error as? CLIPError, .invalidClipSkip(clipSkip: 3, maximum: 2))
        }
    }

    func testCLIPTextModelRejectsBadInput() throws {
        let fixture = try CLIPFixture("sd1_clip_l", test: self)
        let model = try CLIPTextModel(configuration: fixture.configuration, weights: fixture.weights)
        let graph = makeGraph()
        let valid = fixture.inputIDs[0]
        func assertRejects(_ ids: [[Int32]], _ expected: CLIPError, line: UInt = #line) {
            XCTAssertThrowsError(try model(graph, inputIDs: ids), line: line) { error in
                XCTAssertEqual(error as? CLIPError, expected, line: line)
                XCTAssertTrue("\(error)".contains("CLIP text encoder"), line: line)
            }
        }
        var outOfVocabulary = valid
        outOfVocabulary[3] = 49407
        assertRejects([valid, outOfVocabulary],
                      .tokenOutOfRange(row: 1, position: 3, id: 49407, vocabularySize: 1000))
        var negative = valid
        negative[0] = -1
        assertRejects([negative], .tokenOutOfRange(row: 0, position: 0, id: -1, vocabularySize: 1000))
        assertRejects([valid + [999]], .sequenceTooLong(length: 78, maximum: 77))
        assertRejects([valid, Array(valid.prefix(76))], .raggedInput(row: 1, length: 76, expected: 77))
        assertRejects([], .emptyInput)
        assertRejects([[]], .emptyInput)
    }

    func testCLIPTextModelRejectsWeightsThatDisagreeWithConfig() throws {
        let fixture = try CLIPFixture("sd1_clip_l", test: self)
        var fewerLayers = fixture.configuration
        fewerLayers.numHiddenLayers = 2
        XCTAssertThrowsError(try CLIPTextModel(configuration: fewerLayers, weights: fixture.weights)) { error in
            XCTAssertTrue("\(error)".contains("more layers than num_hidden_layers 2"), "\(error)")
        }
        var widerVocabulary = fixture.configuration
        widerVocabulary.vocabSize = 49408
        XCTAssertThrowsError(try CLIPTextModel(configuration: widerVocabulary, weights: fixture.weights)) { error in
            XCTAssertTrue("\(error)".contains("embeddings.token_embedding.weight"), "\(error)")
        }
    }
}
