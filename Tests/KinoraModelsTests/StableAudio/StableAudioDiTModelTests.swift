import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The tiny random-weight Stable Audio DiT and projection models under `Tests/Fixtures/stable-audio-dit/` and
/// diffusers 0.42.1's outputs for them, made by `scripts/fixtures/make_stable_audio_dit_fixtures.py`: 2 layers, 2
/// query heads of 8 (rotary on the first 4), 1 key/value head in the cross-attention, width 16, 6 → 5 channels, on a
/// latent of 13 frames behind one global token; under `gqa/` a
/// one-layer DiT with 4 query heads over 2 key/value heads.
struct StableAudioDiTFixture {
    let folder: URL
    let expected: SafetensorsFile

    init(test: ModelTestCase) throws {
        folder = test.fixtureURL("stable-audio-dit")
        expected = try SafetensorsFile(url: folder.appending(path: "expected.safetensors"))
    }

    var transformerFolder: URL { folder.appending(path: "transformer") }

    func values(_ name: String) throws -> [Float] { try expected.floats(name) }

    /// The expected tensor `name` as a graph input.
    func input(_ graph: Graph, _ name: String) throws -> Value {
        try graph.input(values(name), shape: expected.info(name).shape)
    }

    /// The transformer's weights written to `url` as `dtype` (rounded to nearest even) after `edit` changed the
    /// name → (shape, values) table.
    func writeTransformer(
        to url: URL, as dtype: WeightDType = .f32, _ edit: (inout [String: ([Int], [Float])]) -> Void = { _ in }
    ) throws -> URL {
        let store = try SafetensorsFile(url: transformerFolder.appending(path: "diffusion_pytorch_model.safetensors"))
        var tensors: [String: ([Int], [Float])] = [:]
        for name in store.tensorNames {
            tensors[name] = (try store.info(name).shape, try store.floats(name))
        }
        edit(&tensors)
        var writer = SafetensorsWriter()
        for (name, (shape, values)) in tensors.sorted(by: { $0.key < $1.key }) {
            try writer.add(name, shape: shape, floats: values, as: dtype)
        }
        try writer.write(to: url)
        return url
    }
}

/// `StableAudioDiTModel` against diffusers 0.42.1 on a tiny random DiT: one sample, its parts one by one, a
/// classifier-free-guidance batch of two with a shared and with per-sample timesteps, and bad weights.
final class StableAudioDiTModelTests: ModelTestCase {
    /// fp32 weights: relative L2 error bound against diffusers (f32 arithmetic, summation order differs). The same
    /// bound holds for fp16 weights against diffusers' fp32 model run on the same rounded weights (whose own
    /// distance from the fp32 weights' output is 8.0e-4).
    static let fp32Tolerance = 1e-5

    private func assertMatches(_ actual: [Float], _ expected: [Float], _ name: String, line: UInt = #line) {
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, name, line: line)
        print("Stable Audio DiT fp32: \(name) relative L2 \(relativeL2(actual, expected))")
    }

    private func predict(
        _ model: StableAudioDiTModel, _ fixture: StableAudioDiTFixture, prefix: String = "", timestep: [Float]
    ) throws -> [Float] {
        let graph = makeGraph()
        let latent = try fixture.input(graph, prefix + "hidden_states")
        let output = try model(
            graph, hiddenStates: latent, timestep: timestep,
            encoderHiddenStates: fixture.input(graph, prefix + "encoder_hidden_states"),
            globalHiddenStates: fixture.input(graph, prefix + "global_hidden_states"))
        XCTAssertEqual(output.shape, [latent.shape[0], 5, 13])
        return try graph.run([output])[0].floats()
    }

    func testStableAudioDiTMatchesDiffusersInFP32() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioDiTModel(folder: fixture.transformerFolder, device: device)
        XCTAssertEqual(
            model.configuration,
            StableAudioDiTConfig(
                sampleSize: 13, inChannels: 6, numLayers: 2, attentionHeadDim: 8, numAttentionHeads: 2,
                numKeyValueAttentionHeads: 1, outChannels: 5, crossAttentionDim: 12, timeProjDim: 10,
                globalStatesInputDim: 14, crossAttentionInputDim: 7))
        let actual = try predict(model, fixture, timestep: try fixture.values("timestep"))
        assertMatches(actual, try fixture.values("sample"), "sample")
    }

    /// An fp16 file (diffusers' `fp16` variant of Stable Audio Open): weights keep their type on the device, the
    /// arithmetic stays f32.
    func testStableAudioDiTRunsOnFP16Weights() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let url = try fixture.writeTransformer(
            to: makeTemporaryFolder(self).appending(path: "fp16.safetensors"), as: .f16)
        let store = try SafetensorsFile(url: url)
        XCTAssertEqual(try store.info("transformer_blocks.0.attn1.to_q.weight").dtype, .f16)
        let model = try StableAudioDiTModel(
            configuration: StableAudioDiTConfig.load(from: fixture.transformerFolder.appending(path: "config.json")),
            weights: DeviceWeights(store: store, device: device))
        let actual = try predict(model, fixture, timestep: try fixture.values("timestep"))
        assertMatches(actual, try fixture.values("sample.fp16_weights"), "sample.fp16_weights")
        XCTAssertGreaterThan(relativeL2(actual, try fixture.values("sample")), 1e-4)
    }

    /// The conditioning projections, the rotary tables and each block's output on their own, so a mismatch points
    /// at its layer.
    func testStableAudioDiTPartsMatchDiffusersOneByOne() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioDiTModel(folder: fixture.transformerFolder, device: device)
        let graph = makeGraph()
        let timestep = try fixture.values("timestep")
        let context = try StableAudioDiTLayers.mlp(
            graph, model.weights.scoped("cross_attention_proj"), fixture.input(graph, "encoder_hidden_states"),
            inputs: 7, outputs: 12, bias: false)
        let global = try model.globalStates(graph, fixture.input(graph, "global_hidden_states"), timestep: timestep)
        let rotary = try model.rotaryTable(graph, positions: 14)
        let latent = try fixture.input(graph, "hidden_states")
        let preprocessed = try graph.add(
            latent, graph.conv1d(latent, weight: model.weights.value("preprocess_conv.weight", in: graph)))
        let tokens = try graph.linear(
            graph.transpose(preprocessed, 1, 2), weight: model.weights.value("proj_in.weight", in: graph))
        var hidden = try graph.concat([global, tokens], axis: 1)
        var outputs: [(String, Value)] = [("cross_attention_hidden_states", context), ("global_states", global)]
        for index in 0..<2 {
            hidden = try model.block(index)(graph, hidden, context: context, rotary: rotary)
            outputs.append(("block_output.\(index)", hidden))
        }
        let tensors = try graph.run(outputs.map(\.1) + [rotary.cos, rotary.sin])
        for ((name, _), tensor) in zip(outputs, tensors) {
            assertMatches(try tensor.floats(), try fixture.values(name), name)
        }
        // diffusers' tables are [14, 4]: the pair angles' cos (sin) twice over; Kinora keeps one copy [14, 2].
        for (name, tensor) in zip(["rotary_cos", "rotary_sin"], tensors.suffix(2)) {
            let reference = try fixture.values(name)
            let firstHalf = stride(from: 0, to: reference.count, by: 4).flatMap { reference[$0..<($0 + 2)] }
            let secondHalf = stride(from: 2, to: reference.count, by: 4).flatMap { reference[$0..<($0 + 2)] }
            XCTAssertEqual(firstHalf, secondHalf, name)
            assertMatches(try tensor.floats(), firstHalf, name)
        }
    }

    /// The pipeline's classifier-free-guidance batch: the unconditional row's text tokens are zeros, the global
    /// token repeats, and one timestep [1] serves both samples; then the same batch with a timestep per sample.
    func testStableAudioDiTMatchesDiffusersOnGuidanceBatch() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioDiTModel(folder: fixture.transformerFolder, device: device)
        let shared = try predict(model, fixture, prefix: "batch_", timestep: try fixture.values("timestep"))
        assertMatches(shared, try fixture.values("batch_sample"), "batch_sample")
        let perSample = try predict(model, fixture, prefix: "batch_", timestep: try fixture.values("batch_timesteps"))
        assertMatches(perSample, try fixture.values("batch_timesteps_sample"), "batch_timesteps_sample")
        // The second sample's timestep differs between the two runs, so must its prediction.
        XCTAssertGreaterThan(relativeL2(Array(perSample[65...]), Array(shared[65...])), 1e-2)
        XCTAssertEqual(Array(perSample[..<65]), Array(shared[..<65]))
    }

    /// Four query heads over two key/value heads: key/value head j must serve query heads 2j and 2j + 1
    /// (`repeat_interleave`), which a model with a single key/value head cannot tell from other orders.
    func testGroupedQueryCrossAttentionMatchesDiffusers() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioDiTModel(folder: fixture.folder.appending(path: "gqa"), device: device)
        XCTAssertEqual(model.configuration.numAttentionHeads / model.configuration.numKeyValueAttentionHeads, 2)
        let graph = makeGraph()
        let output = try model(
            graph, hiddenStates: fixture.input(graph, "gqa.hidden_states"), timestep: fixture.values("gqa.timestep"),
            encoderHiddenStates: fixture.input(graph, "gqa.encoder_hidden_states"),
            globalHiddenStates: fixture.input(graph, "gqa.global_hidden_states"))
        XCTAssertEqual(output.shape, [2, 3, 9])
        assertMatches(try graph.run([output])[0].floats(), try fixture.values("gqa.sample"), "gqa.sample")
    }

    func testStableAudioDiTRejectsIncompleteOrForeignWeights() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let configuration = try StableAudioDiTConfig.load(
            from: fixture.transformerFolder.appending(path: "config.json"))
        let scratch = try makeTemporaryFolder(self)
        func load(_ name: String, _ edit: (inout [String: ([Int], [Float])]) -> Void) throws -> StableAudioDiTModel {
            let url = try fixture.writeTransformer(to: scratch.appending(path: name), edit)
            return try StableAudioDiTModel(
                configuration: configuration, weights: DeviceWeights(store: SafetensorsFile(url: url), device: device))
        }
        let missing = "transformer_blocks.1.attn2.to_k.weight"
        XCTAssertThrowsError(try load("missing.safetensors") { $0[missing] = nil }) { error in
            guard case WeightsError.missingTensor(let file, let tensor)? = error as? WeightsError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(tensor, missing)
            XCTAssertTrue(file.hasSuffix("missing.safetensors"), file)
        }
        XCTAssertThrowsError(
            try load("wide.safetensors") { $0[missing] = ([16, 12], [Float](repeating: 0, count: 192)) }
        ) { error in
            guard case StableAudioDiTError.weightsMismatch(_, let tensor, let reason)? = error as? StableAudioDiTError
            else { return XCTFail("\(error)") }
            XCTAssertEqual(tensor, missing)
            XCTAssertTrue(reason.hasPrefix("expected shape [8, 12] for width 16 (2 heads of 8, 1 key/value heads)"))
            XCTAssertTrue(reason.hasSuffix("found [16, 12]"), reason)
        }
        XCTAssertThrowsError(
            try load("extra.safetensors") {
                $0["transformer_blocks.2.norm1.weight"] = ([16], [Float](repeating: 1, count: 16))
            }
        ) { error in
            guard case StableAudioDiTError.weightsMismatch(_, let tensor, _)? = error as? StableAudioDiTError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(tensor, "transformer_blocks.2.norm1.weight")
        }
    }
}
