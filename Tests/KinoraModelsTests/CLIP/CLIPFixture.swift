import Foundation
import KinoraFormats
import KinoraModels
import KinoraTensor
import XCTest

/// One tiny model under `Tests/Fixtures/clip/<name>/`, made by `scripts/fixtures/make_clip_fixtures.py`.
struct CLIPFixture {
    let configuration: CLIPTextConfig
    let weights: DeviceWeights
    let expected: SafetensorsFile
    let inputIDs: [[Int32]]

    /// Loads `config.json`, the weights (`model.safetensors`, or `model.fp16.safetensors` when `half`) and the
    /// reference outputs.
    init(_ name: String, half: Bool = false, test: ModelTestCase) throws {
        configuration = try CLIPTextConfig.load(from: test.fixtureURL("clip/\(name)/config.json"))
        let store = try test.fixture("clip/\(name)/\(half ? "model.fp16" : "model").safetensors")
        weights = DeviceWeights(store: store, device: test.device)
        expected = try test.fixture("clip/\(name)/expected.safetensors")
        let ids = try expected.floats("input_ids").map { Int32($0) }
        let length = try expected.info("input_ids").shape[1]
        inputIDs = stride(from: 0, to: ids.count, by: length).map { Array(ids[$0..<($0 + length)]) }
    }

    func values(_ name: String) throws -> [Float] { try expected.floats(name) }
}
