import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The tiny random-weight Wan transformers under `Tests/Fixtures/wan-transformer/` and diffusers 0.42.1's outputs for
/// them, made by `scripts/fixtures/make_wan_transformer_fixtures.py`: patch (1, 2, 2), 2 heads of 20 (rotary split
/// 8/6/6), dim 40, 2 layers, ffn 32, text_dim 16, 4 → 6 channels, on a latent of 3 × 6 × 10 (45 tokens); and under
/// `patch222/` a one-layer model with patch (2, 2, 2).
struct WanTransformerFixture {
    let folder: URL
    let configuration: WanTransformer3DConfig
    let store: SafetensorsFile
    let expected: SafetensorsFile

    init(_ subfolder: String? = nil, test: ModelTestCase) throws {
        folder = test.fixtureURL("wan-transformer" + (subfolder.map { "/\($0)" } ?? ""))
        configuration = try WanTransformer3DConfig.load(from: folder.appending(path: "config.json"))
        store = try SafetensorsFile(url: folder.appending(path: "diffusion_pytorch_model.safetensors"))
        expected = try SafetensorsFile(url: folder.appending(path: "expected.safetensors"))
    }

    /// The model over `store` (the fixture's fp32 weights unless given) on `test`'s device.
    func model(
        _ test: ModelTestCase, store: (any WeightStore)? = nil,
        feedForwardChunkBytes: Int = WanTransformer3DModel.defaultFeedForwardChunkBytes
    ) throws -> WanTransformer3DModel {
        try WanTransformer3DModel(
            configuration: configuration, weights: DeviceWeights(store: store ?? self.store, device: test.device),
            feedForwardChunkBytes: feedForwardChunkBytes)
    }

    func values(_ name: String) throws -> [Float] { try expected.floats(name) }

    func shape(_ name: String) throws -> [Int] { try expected.info(name).shape }

    /// The [B, L] tensor `name` as rows.
    func rows(_ name: String) throws -> [[Float]] {
        let values = try values(name)
        let length = try shape(name)[1]
        return stride(from: 0, to: values.count, by: length).map { Array(values[$0..<($0 + length)]) }
    }

    /// The fixture's inputs `latent` and `text` (names in `expected.safetensors`) on `graph`.
    func inputs(_ graph: Graph, latent: String, text: String) throws -> (latent: Value, text: Value) {
        (
            try graph.input(values(latent), shape: shape(latent)),
            try graph.input(values(text), shape: shape(text))
        )
    }

    /// Runs `model` on the fixture inputs `latent`, `text` with `timestep`, returning the prediction.
    func predict(
        _ model: WanTransformer3DModel, _ test: ModelTestCase, latent: String = "hidden_states",
        text: String = "encoder_hidden_states", timestep: WanTimesteps
    ) throws -> [Float] {
        let graph = test.makeGraph()
        let (x, context) = try inputs(graph, latent: latent, text: text)
        let output = try model(graph, hiddenStates: x, timestep: timestep, encoderHiddenStates: context)
        XCTAssertEqual(output.shape, [x.shape[0], configuration.outChannels] + x.shape.suffix(3))
        return try graph.run([output])[0].floats()
    }

    /// The fixture's scalar timestep (937.5) for one sample.
    var timestep: WanTimesteps {
        get throws { .perSample(try values("timestep")) }
    }

    /// Writes the fixture's fp32 weights to `url` as `dtype` (rounded to nearest even), renamed by `rename`.
    func write(
        to url: URL, as dtype: WeightDType = .f32, rename: (String) -> String = { $0 }
    ) throws -> URL {
        var writer = SafetensorsWriter()
        for name in store.tensorNames {
            try writer.add(rename(name), shape: try store.info(name).shape, floats: try store.floats(name), as: dtype)
        }
        try writer.write(to: url)
        return url
    }
}
