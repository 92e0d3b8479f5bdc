import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `StableAudioProjectionModel` against diffusers 0.42.1: a linear text projection and an identity one, the two
/// number conditioners (with a number past `max_value`, clamped), and the conditioning `StableAudioPipeline`
/// assembles for the DiT.
final class StableAudioDiTProjectionTests: ModelTestCase {
    /// Relative L2 error bound against diffusers (f32 arithmetic; the Fourier features' sin and cos on the device).
    static let fp32Tolerance = 1e-5

    private func assertMatches(_ actual: Tensor, _ expected: [Float], _ name: String, line: UInt = #line) throws {
        let values = try actual.floats()
        assertClose(values, expected, tolerance: Self.fp32Tolerance, name, line: line)
        print("Stable Audio projection fp32: \(name) relative L2 \(relativeL2(values, expected))")
    }

    func testProjectionModelMatchesDiffusers() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioProjectionModel(
            folder: fixture.folder.appending(path: "projection_model"), device: device)
        XCTAssertEqual(
            model.configuration,
            StableAudioProjectionConfig(textEncoderDim: 9, conditioningDim: 7, minValue: 0, maxValue: 47))
        let graph = makeGraph()
        let (start, end) = (try fixture.values("seconds_start"), try fixture.values("seconds_end"))
        XCTAssertEqual(end, [10, 60])
        let text = try fixture.input(graph, "text_hidden_states")
        let (encoder, global) = try model.conditioning(graph, text: text, secondsStart: start, secondsEnd: end)
        XCTAssertEqual(encoder.shape, [2, 7, 7])
        XCTAssertEqual(global.shape, [2, 1, 14])
        let outputs = [
            ("projection.text_hidden_states", try model.textHiddenStates(graph, text)),
            ("projection.seconds_start_hidden_states", try model.secondsStartHiddenStates(graph, start)),
            ("projection.seconds_end_hidden_states", try model.secondsEndHiddenStates(graph, end)),
            ("projection.encoder_hidden_states", encoder), ("projection.global_hidden_states", global),
        ]
        for ((name, _), tensor) in zip(outputs, try graph.run(outputs.map(\.1))) {
            try assertMatches(tensor, try fixture.values(name), name)
        }
    }

    /// The pipeline masks the projected text: padding rows become zeros, not the linear projection's bias.
    func testProjectionModelMasksPaddingAfterTheProjection() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioProjectionModel(
            folder: fixture.folder.appending(path: "projection_model"), device: device)
        let graph = makeGraph()
        let (encoder, _) = try model.conditioning(
            graph, text: fixture.input(graph, "text_hidden_states"),
            textMask: fixture.input(graph, "text_attention_mask"), secondsStart: fixture.values("seconds_start"),
            secondsEnd: fixture.values("seconds_end"))
        let actual = try graph.run([encoder])[0]
        let expected = try fixture.values("projection.masked_encoder_hidden_states")
        try assertMatches(actual, expected, "projection.masked_encoder_hidden_states")
        // Sample 1's tokens 3 and 4 are padding: 2 × 7 zeros at rows 3..4 of its 7 × 7.
        XCTAssertEqual(Array(try actual.floats()[(49 + 21)..<(49 + 35)]), [Float](repeating: 0, count: 14))
        XCTAssertNotEqual(expected, try fixture.values("projection.encoder_hidden_states"))
    }

    func testIdentityTextProjectionPassesTextThrough() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioProjectionModel(
            folder: fixture.folder.appending(path: "projection_identity"), device: device)
        XCTAssertFalse(model.configuration.projectsText)
        let graph = makeGraph()
        let (start, end) = (try fixture.values("seconds_start"), try fixture.values("seconds_end"))
        let outputs = [
            (
                "identity.text_hidden_states",
                try model.textHiddenStates(graph, fixture.input(graph, "identity_text_hidden_states"))
            ),
            ("identity.seconds_start_hidden_states", try model.secondsStartHiddenStates(graph, start)),
            ("identity.seconds_end_hidden_states", try model.secondsEndHiddenStates(graph, end)),
        ]
        let tensors = try graph.run(outputs.map(\.1))
        XCTAssertEqual(try tensors[0].floats(), try fixture.values("identity.text_hidden_states"))
        for ((name, _), tensor) in zip(outputs, tensors).dropFirst() {
            try assertMatches(tensor, try fixture.values(name), name)
        }
    }

    func testProjectionModelRejectsBadInput() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioProjectionModel(
            folder: fixture.folder.appending(path: "projection_model"), device: device)
        let graph = makeGraph()
        let wide = try graph.input([Float](repeating: 0, count: 2 * 5 * 7), shape: [2, 5, 7])
        XCTAssertThrowsError(try model.textHiddenStates(graph, wide)) { error in
            XCTAssertEqual(
                error as? StableAudioDiTError,
                .invalidInput(
                    name: "text_hidden_states", shape: [2, 5, 7],
                    reason: "expected [B, L, 9]: the text encoder's hidden states, text_encoder_dim 9 wide"))
        }
        let text = try fixture.input(graph, "text_hidden_states")
        XCTAssertThrowsError(try model.conditioning(graph, text: text, secondsStart: [0], secondsEnd: [10, 20])) {
            XCTAssertEqual(
                $0 as? StableAudioDiTError,
                .invalidInput(name: "start_seconds", shape: [1], reason: "expected one number per prompt (2)"))
        }
        let mask = try graph.input([1, 1, 1, 1, 1], shape: [1, 5])
        XCTAssertThrowsError(
            try model.conditioning(graph, text: text, textMask: mask, secondsStart: [0, 0], secondsEnd: [10, 20])
        ) {
            XCTAssertEqual(
                $0 as? StableAudioDiTError,
                .invalidInput(
                    name: "attention_mask", shape: [1, 5], reason: "expected [2, 5]: one weight per text token"))
        }
        XCTAssertThrowsError(try model.secondsEndHiddenStates(graph, [.infinity])) {
            XCTAssertEqual(
                $0 as? StableAudioDiTError,
                .invalidInput(name: "end_seconds", shape: [1], reason: "expected finite numbers of seconds, got [inf]"))
        }
    }
}
