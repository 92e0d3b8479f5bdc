import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `StableAudioDiTModel` and `StableAudioDiTConfig` refuse inputs and configurations that do not fit, naming them,
/// before any work.
final class StableAudioDiTInputTests: ModelTestCase {
    func testStableAudioDiTRejectsBadInput() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioDiTModel(folder: fixture.transformerFolder, device: device)
        func assertRejects(
            latent: [Int] = [2, 6, 13], text: [Int] = [2, 7, 7], global: [Int] = [2, 1, 14], timestep: [Float] = [0.5],
            _ expected: StableAudioDiTError, line: UInt = #line
        ) {
            let graph = makeGraph()
            func zeros(_ shape: [Int]) throws -> Value {
                try graph.input([Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
            }
            XCTAssertThrowsError(
                try model(
                    graph, hiddenStates: zeros(latent), timestep: timestep, encoderHiddenStates: zeros(text),
                    globalHiddenStates: zeros(global)),
                line: line
            ) { error in
                XCTAssertEqual(error as? StableAudioDiTError, expected, line: line)
                XCTAssertTrue("\(error)".hasPrefix("Stable Audio: "), "\(error)", line: line)
            }
        }
        assertRejects(
            latent: [2, 64, 13],
            .invalidInput(
                name: "hidden_states", shape: [2, 64, 13],
                reason: "expected [B, 6, T]: the latent with in_channels 6"))
        assertRejects(
            latent: [2, 6],
            .invalidInput(
                name: "hidden_states", shape: [2, 6], reason: "expected [B, 6, T]: the latent with in_channels 6"))
        assertRejects(
            text: [2, 7, 9],
            .invalidInput(
                name: "encoder_hidden_states", shape: [2, 7, 9],
                reason: "expected [2, L_text, 7]: one row of text-and-duration tokens per latent, "
                    + "cross_attention_input_dim 7 wide"))
        assertRejects(
            text: [1, 7, 7],
            .invalidInput(
                name: "encoder_hidden_states", shape: [1, 7, 7],
                reason: "expected [2, L_text, 7]: one row of text-and-duration tokens per latent, "
                    + "cross_attention_input_dim 7 wide"))
        assertRejects(
            global: [2, 2, 14],
            .invalidInput(
                name: "global_hidden_states", shape: [2, 2, 14],
                reason: "expected [2, 1, 14]: one global token per latent (the seconds-start and seconds-total "
                    + "embeddings side by side)"))
        assertRejects(
            timestep: [0.1, 0.2, 0.3],
            .invalidInput(
                name: "timestep", shape: [3],
                reason: "expected one finite timestep, or one per latent (2); got "
                    + "[0.1, 0.2, 0.3]"))
        assertRejects(
            timestep: [.nan],
            .invalidInput(
                name: "timestep", shape: [1], reason: "expected one finite timestep, or one per latent (2); got [nan]"))
    }

    func testStableAudioDiTConfigRejectsUngroupableHeads() throws {
        let folder = try makeTemporaryFolder(self)
        let url = folder.appending(path: "config.json")
        try Data(#"{"num_attention_heads": 3, "num_key_value_attention_heads": 2, "attention_head_dim": 8}"#.utf8)
            .write(to: url)
        XCTAssertThrowsError(try StableAudioDiTConfig.load(from: url)) {
            XCTAssertEqual(
                $0 as? StableAudioDiTError,
                .invalidConfiguration(
                    file: url.path,
                    reason: "num_attention_heads 3 must be a multiple of num_key_value_attention_heads 2: each "
                        + "key/value head serves a group of query heads"))
        }
        try Data(#"{"attention_head_dim": 6}"#.utf8).write(to: url)
        XCTAssertThrowsError(try StableAudioDiTConfig.load(from: url)) {
            XCTAssertEqual(
                $0 as? StableAudioDiTError,
                .invalidConfiguration(
                    file: url.path,
                    reason: "attention_head_dim 6 must be a multiple of 4: the rotary embedding turns pairs in the "
                        + "first half of each head"))
        }
        try Data(#"{"num_layers": "two"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try StableAudioDiTConfig.load(from: url)) { error in
            guard case StableAudioDiTError.invalidConfiguration(_, let reason)? = error as? StableAudioDiTError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.hasPrefix("'num_layers'"), reason)
        }
        XCTAssertEqual(StableAudioDiTConfig.stableAudioOpen1.innerDim, 1536)
        XCTAssertEqual(StableAudioDiTConfig.stableAudioOpen1.keyValueDim, 768)
    }
}
