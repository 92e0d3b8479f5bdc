import Foundation
import KinoraFormats
import KinoraModels
import KinoraTensor
import XCTest

/// The tiny random-weight UMT5 encoder under `Tests/Fixtures/umt5/` and transformers' outputs for it, made by
/// `scripts/fixtures/make_umt5_fixtures.py`.
struct UMT5Fixture {
    let configuration: UMT5Config
    let store: SafetensorsFile
    let expected: SafetensorsFile
    /// Prompt 0 fills the 40 positions; prompt 1 has 23 tokens, then padding with mask 0.
    let inputIDs: [[Int]]
    let attentionMask: [[Int]]

    /// `weights` picks `model.safetensors` (nil), `model.fp16.safetensors` or `model.bf16.safetensors`.
    init(weights variant: String? = nil, test: ModelTestCase) throws {
        configuration = try UMT5Config.load(from: test.fixtureURL("umt5/config.json"))
        store = try test.fixture("umt5/\(variant.map { "model.\($0)" } ?? "model").safetensors")
        expected = try test.fixture("umt5/expected.safetensors")
        inputIDs = try Self.rows(expected, "input_ids")
        attentionMask = try Self.rows(expected, "attention_mask")
    }

    /// The encoder over the fixture's weights on `test`'s device.
    func model(_ test: ModelTestCase, maximumLength: Int = 512) throws -> UMT5EncoderModel {
        try UMT5EncoderModel(
            configuration: configuration, weights: DeviceWeights(store: store, device: test.device),
            maximumLength: maximumLength)
    }

    func values(_ name: String) throws -> [Float] { try expected.floats(name) }

    /// The integer rows of the [B, L] tensor `name`.
    func rows(_ name: String) throws -> [[Int]] { try Self.rows(expected, name) }

    private static func rows(_ file: SafetensorsFile, _ name: String) throws -> [[Int]] {
        let values = try file.floats(name).map { Int($0) }
        let length = try file.info(name).shape[1]
        return stride(from: 0, to: values.count, by: length).map { Array(values[$0..<($0 + length)]) }
    }
}
