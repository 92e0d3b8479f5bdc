import Foundation
import KinoraModels
import XCTest

/// `CLIPTextConfig` decoded from transformers' `config.json`.
final class CLIPTextConfigTests: ModelTestCase {
    func testCLIPTextConfigDecodesTransformersConfig() throws {
        let configuration = try CLIPTextConfig.load(from: fixtureURL("clip/sdxl_openclip_g/config.json"))
        XCTAssertEqual(configuration, CLIPTextConfig(
            vocabSize: 1000, hiddenSize: 32, intermediateSize: 37, projectionDim: 24, numHiddenLayers: 3,
            numAttentionHeads: 4, maxPositionEmbeddings: 77, hiddenAct: "gelu", layerNormEps: 1e-5, padTokenId: 1,
            bosTokenId: 996, eosTokenId: 997))
    }

    func testCLIPTextConfigTakesTransformersDefaultsForMissingKeys() throws {
        let configuration = try JSONDecoder().decode(CLIPTextConfig.self, from: Data(#"{"hidden_size": 768}"#.utf8))
        XCTAssertEqual(configuration, CLIPTextConfig(hiddenSize: 768))
        XCTAssertEqual(configuration.eosTokenId, 49407)
        let explicitNull = try JSONDecoder().decode(CLIPTextConfig.self, from: Data(#"{"pad_token_id": null}"#.utf8))
        XCTAssertNil(explicitNull.padTokenId)
    }

    func testCLIPTextConfigRejectsUnusableValuesNamingTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "clip-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases = [
            (#"{"hidden_act": "swish"}"#, "hidden_act 'swish' is not supported"),
            (#"{"hidden_size": 30, "num_attention_heads": 4}"#, "does not split into 4 attention heads"),
            (#"{"num_hidden_layers": "twelve"}"#, "'num_hidden_layers'"),
            (#"{"vocab_size": 0}"#, "vocab_size must be positive"),
        ]
        for (index, (json, message)) in cases.enumerated() {
            let url = directory.appending(path: "config\(index).json")
            try Data(json.utf8).write(to: url)
            XCTAssertThrowsError(try CLIPTextConfig.load(from: url)) { error in
                XCTAssertTrue("\(error)".contains(message) && "\(error)".contains(url.path), "\(error)")
            }
        }
    }
}
