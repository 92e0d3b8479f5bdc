import Foundation
import KinoraFormats
import KinoraModels
import XCTest

/// `UMT5Config` decoded from transformers' `config.json`, checked, and read off tensor shapes.
final class UMT5ConfigTests: ModelTestCase {
    func testConfigDecodesTransformersConfigJSON() throws {
        let configuration = try UMT5Config.load(from: fixtureURL("umt5/config.json"))
        XCTAssertEqual(
            configuration,
            UMT5Config(
                vocabSize: 320, dModel: 32, dKV: 8, dFF: 48, numLayers: 3,
                numHeads: 6, relativeAttentionNumBuckets: 32,
                relativeAttentionMaxDistance: 20, layerNormEpsilon: 1e-6,
                feedForwardProj: "gated-gelu"))
        XCTAssertEqual(configuration.innerDim, 48)
        XCTAssertTrue(configuration.isGatedAct)
        XCTAssertEqual(configuration.activation, .geluNew)
        XCTAssertEqual(try JSONDecoder().decode(UMT5Config.self, from: Data("{}".utf8)), UMT5Config())
    }

    /// transformers' `UMT5Config.__post_init__`: `gated-gelu` is `gelu_new`, `gated-ACT` and `ACT` are ACT.
    func testFeedForwardKindFollowsTransformers() {
        func kind(_ projection: String) -> (Bool, UMT5Activation?) {
            let configuration = UMT5Config(feedForwardProj: projection)
            return (configuration.isGatedAct, configuration.activation)
        }
        XCTAssertTrue(kind("gated-gelu") == (true, .geluNew))
        XCTAssertTrue(kind("gelu") == (false, .gelu))
        XCTAssertTrue(kind("relu") == (false, .relu))
        XCTAssertTrue(kind("gated-silu") == (true, .silu))
        XCTAssertTrue(kind("gated-gelu_new") == (true, .geluNew))
        XCTAssertNil(kind("gated-swiglu").1)
        XCTAssertNil(kind("fast-gelu").1)
        XCTAssertNil(kind("gated-gelu-x").1)
    }

    func testConfigRejectsWhatCannotBeAnEncoder() throws {
        func assertInvalid(_ configuration: UMT5Config, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try configuration.validate(source: "config.json"), line: line) { error in
                XCTAssertTrue("\(error)".hasPrefix("config.json: not a usable UMT5 encoder config ("), line: line)
                XCTAssertTrue("\(error)".contains(message), "\(error)", line: line)
            }
        }
        assertInvalid(UMT5Config(numHeads: 0), "num_heads must be positive, got 0")
        assertInvalid(UMT5Config(relativeAttentionNumBuckets: 2), "relative_attention_num_buckets 2 leaves no exact")
        assertInvalid(
            UMT5Config(relativeAttentionNumBuckets: 32, relativeAttentionMaxDistance: 8),
            "relative_attention_max_distance 8 must exceed relative_attention_num_buckets / 4 = 8")
        assertInvalid(UMT5Config(feedForwardProj: "gated-swiglu"), "feed_forward_proj 'gated-swiglu' is not supported")
        assertInvalid(UMT5Config(dKV: 512), "d_kv 512 exceeds the attention kernel's largest head width 256")
        assertInvalid(UMT5Config(layerNormEpsilon: -1), "layer_norm_epsilon -1.0 must be finite")
        XCTAssertNoThrow(try UMT5Config.umt5XXL.validate())

        let folder = try makeTemporaryFolder(self)
        let broken = folder.appending(path: "config.json")
        try Data(#"{"d_model": "wide"}"#.utf8).write(to: broken)
        XCTAssertThrowsError(try UMT5Config.load(from: broken)) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix("\(broken.path): not a usable UMT5 encoder config ('d_model'"),
                "\(error)")
        }
    }

    /// UMT5-XXL's tensors (as the Wan folders and ComfyUI's files have them) give back its configuration.
    func testUMT5XXLConfigurationIsInferredFromItsShapes() throws {
        let shapes = Dictionary(
            uniqueKeysWithValues: UMT5EncoderModel.parameterShapes(.umt5XXL).map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes.count, 1 + 24 * 10 + 1)
        XCTAssertEqual(
            try UMT5Config.inferred(from: RandomWeightStore(shapes: shapes, sourceName: "umt5-xxl")),
            .umt5XXL)
        let parameters = shapes.values.map { $0.reduce(1, *) }.reduce(0, +)
        XCTAssertEqual(parameters, 5_680_910_336)
        print("UMT5-XXL encoder: \(parameters) parameters")
    }
}
