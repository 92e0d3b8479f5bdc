import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `UMT5EncoderModel` against transformers 5.23 on a tiny random UMT5 encoder (inner width 48 ≠ d_model 32, 32
/// buckets with max_distance 20 over 40 tokens, a padded prompt), with weights in f32, f16 and bf16, in the layouts
/// users' files have, and with bad input.
final class UMT5EncoderModelTests: ModelTestCase {
    /// fp32 weights: relative L2 error bound against transformers (measured 6.7e-7 on lavapipe).
    static let fp32Tolerance = 1e-4
    /// Half weights against the fp32 model run on the same rounded weights: Kinora computes in f32 from the stored
    /// weights, so only summation order differs (measured 6.7e-7 for fp16, 6.1e-7 for bf16).
    static let roundedWeightsTolerance = 1e-4
    /// fp16 weights against the fp32 reference: the weights' rounding (relative 2⁻¹¹) through three layers, measured
    /// 1.38e-3 in transformers itself.
    static let fp16Tolerance = 3e-3
    /// bf16 weights against the fp32 reference: relative 2⁻⁸ rounding, measured 1.04e-2 in transformers itself.
    static let bf16Tolerance = 2e-2

    /// Runs the fixture's padded batch on `model`, returning `last_hidden_state`.
    private func lastHiddenState(_ model: UMT5EncoderModel, _ fixture: UMT5Fixture) throws -> [Float] {
        let graph = makeGraph()
        let output = try model(graph, inputIDs: fixture.inputIDs, attentionMask: fixture.attentionMask)
        XCTAssertEqual(output.shape, [2, 40, 32])
        return try graph.run([output])[0].floats()
    }

    func testUMT5EncoderMatchesTransformersInFP32() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try UMT5EncoderModel(folder: fixtureURL("umt5"), device: device)
        XCTAssertEqual(model.configuration, fixture.configuration)
        let actual = try lastHiddenState(model, fixture)
        let expected = try fixture.values("last_hidden_state")
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, "last_hidden_state")
        print("UMT5 fp32: last_hidden_state relative L2 \(relativeL2(actual, expected))")
    }

    /// The embeddings and each block's output on their own, so a mismatch points at its layer.
    func testUMT5EncoderLayersMatchTransformersOneByOne() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try fixture.model(self)
        let graph = makeGraph()
        var hidden = graph.input(try model.embedding.tensor(fixture.inputIDs, on: device))
        let selector = try model.positionBias.selector(length: 40, on: graph)
        let padding = try UMT5RelativePositionBias.paddingMask(fixture.attentionMask).map {
            try graph.input($0.values, shape: $0.shape)
        }
        XCTAssertNotNil(padding)
        var states = [hidden]
        for index in 0..<2 {
            hidden = try model.block(index)(graph, hidden, selector: selector, padding: padding)
            states.append(hidden)
        }
        for (index, tensor) in try graph.run(states).enumerated() {
            let actual = try tensor.floats()
            let expected = try fixture.values("hidden_states.\(index)")
            assertClose(actual, expected, tolerance: Self.fp32Tolerance, "hidden_states.\(index)")
            print("UMT5 fp32: hidden_states.\(index) relative L2 \(relativeL2(actual, expected))")
        }
    }

    func testUMT5HalfWeightsComputeInFP32FromTheStoredValues() throws {
        let reference = try UMT5Fixture(test: self).values("last_hidden_state")
        for (variant, tolerance) in [("fp16", Self.fp16Tolerance), ("bf16", Self.bf16Tolerance)] {
            let fixture = try UMT5Fixture(weights: variant, test: self)
            XCTAssertEqual(
                try fixture.store.info("encoder.block.0.layer.1.DenseReluDense.wo.weight").dtype,
                variant == "fp16" ? .f16 : .bf16)
            let actual = try lastHiddenState(fixture.model(self), fixture)
            let rounded = try fixture.values("last_hidden_state.\(variant)_weights")
            assertClose(actual, rounded, tolerance: Self.roundedWeightsTolerance, "\(variant) vs rounded-weight run")
            assertClose(actual, reference, tolerance: tolerance, "\(variant) vs fp32 reference")
            print(
                "UMT5 \(variant) weights: relative L2 \(relativeL2(actual, rounded)) against transformers on the "
                    + "same rounded weights, \(relativeL2(actual, reference)) against the fp32 reference")
        }
    }

    func testUMT5EncoderRejectsBadInput() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try fixture.model(self, maximumLength: 40)
        let (ids, mask) = (fixture.inputIDs, fixture.attentionMask)
        func assertRejects(_ ids: [[Int]], _ mask: [[Int]]?, _ expected: UMT5Error, line: UInt = #line) {
            XCTAssertThrowsError(try model(makeGraph(), inputIDs: ids, attentionMask: mask), line: line) { error in
                XCTAssertEqual(error as? UMT5Error, expected, line: line)
                XCTAssertTrue("\(error)".hasPrefix("UMT5 encoder: "), "\(error)", line: line)
            }
            XCTAssertThrowsError(
                try model.streamedLastHiddenState(inputIDs: ids, attentionMask: mask, arena: arena),
                line: line
            ) { error in
                XCTAssertEqual(error as? UMT5Error, expected, line: line)
            }
        }
        assertRejects([], nil, .emptyInput)
        assertRejects([[]], nil, .emptyInput)
        assertRejects([ids[0], Array(ids[1].prefix(39))], nil, .raggedInput(row: 1, length: 39, expected: 40))
        assertRejects([ids[0] + [1]], nil, .sequenceTooLong(length: 41, maximum: 40))
        var outOfVocabulary = ids[1]
        outOfVocabulary[7] = 320
        assertRejects(
            [ids[0], outOfVocabulary], mask,
            .tokenOutOfRange(row: 1, position: 7, id: 320, vocabularySize: 320))
        var negative = ids[0]
        negative[0] = -1
        assertRejects([negative], nil, .tokenOutOfRange(row: 0, position: 0, id: -1, vocabularySize: 320))
        assertRejects(ids, [mask[0]], .maskMismatch(reason: "1 mask rows for 2 prompts"))
        assertRejects(
            ids, [mask[0], Array(mask[1].prefix(30))],
            .maskMismatch(reason: "mask row 1 has 30 values for 40 token ids"))
        var twos = mask[1]
        twos[5] = 2
        assertRejects(ids, [mask[0], twos], .invalidMaskValue(row: 1, position: 5, value: 2))
        XCTAssertTrue("\(UMT5Error.sequenceTooLong(length: 41, maximum: 40))".contains("max_length 40"))
    }

    func testUMT5EncoderRejectsWeightsOfAnotherShapeOrFamily() throws {
        let fixture = try UMT5Fixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let query = "encoder.block.1.layer.0.SelfAttention.q.weight"

        let wrongShape = try write(fixture, to: folder.appending(path: "q.safetensors")) { name, shape in
            name == query ? (name, [40, 32]) : (name, shape)
        }
        XCTAssertThrowsError(
            try UMT5EncoderModel(
                file: wrongShape, device: device,
                configuration: fixture.configuration)
        ) { error in
            XCTAssertEqual(
                error as? UMT5Error,
                .weightsMismatch(
                    file: wrongShape.path, tensor: query,
                    reason: "expected shape [48, 32] for d_model 32, 6 heads of d_kv 8, d_ff 48, 32 buckets; found "
                        + "[40, 32]"))
        }

        var biggerVocabulary = fixture.configuration
        biggerVocabulary.vocabSize = 321
        XCTAssertThrowsError(
            try UMT5EncoderModel(
                configuration: biggerVocabulary,
                weights: DeviceWeights(store: fixture.store, device: device))
        ) {
            XCTAssertTrue(
                "\($0)".contains(
                    "'shared.weight': expected shape [321, 32] (vocab_size, d_model), found "
                        + "[320, 32]"), "\($0)")
        }

        var fewerLayers = fixture.configuration
        fewerLayers.numLayers = 2
        XCTAssertThrowsError(
            try UMT5EncoderModel(
                configuration: fewerLayers,
                weights: DeviceWeights(store: fixture.store, device: device))
        ) {
            XCTAssertTrue("\($0)".contains("more layers than num_layers 2"), "\($0)")
        }

        // T5 (Flux's, SD 3's t5xxl, Stable Audio's t5-base) keeps one position bias, in layer 0: read off the
        // shapes it is a T5 encoder (T5EncoderTests); with a UMT5 configuration it is refused.
        let t5 = try write(fixture, to: folder.appending(path: "t5.safetensors")) { name, shape in
            name.hasSuffix("relative_attention_bias.weight") && !name.hasPrefix("encoder.block.0.")
                ? nil
                : (name, shape)
        }
        XCTAssertEqual(try UMT5EncoderModel(file: t5, device: device).configuration.modelType, "t5")
        XCTAssertThrowsError(try UMT5EncoderModel(file: t5, device: device, configuration: fixture.configuration)) {
            XCTAssertTrue(
                "\($0)".contains(
                    "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight': "
                        + "missing: only layer 0 has a relative position bias, so this is a T5 encoder"), "\($0)")
        }

        // A file of another family entirely.
        let clip = fixtureURL("clip/sd1_clip_l/model.safetensors")
        XCTAssertThrowsError(try UMT5EncoderModel(file: clip, device: device)) {
            XCTAssertTrue(
                "\($0)".contains("no UMT5 encoder in it: found neither 'encoder.final_layer_norm.weight'"),
                "\($0)")
        }
    }

    /// ComfyUI's single file (transformers names, possibly under a prefix, with `spiece_model` beside them), Wan's
    /// original layout, and a file with only the tied `encoder.embed_tokens.weight` all give the same output.
    func testUMT5EncoderReadsTheLayoutsUsersHave() throws {
        let fixture = try UMT5Fixture(test: self)
        let reference = try lastHiddenState(fixture.model(self), fixture)
        let folder = try makeTemporaryFolder(self)
        let comfy = try write(
            fixture, to: folder.appending(path: "comfy.safetensors"),
            extra: ["spiece_model": [5]]
        ) { name, shape in
            ("text_encoders.umt5xxl.transformer." + name, shape)
        }
        let wanNames = [
            "layer.0.layer_norm": "norm1", "layer.0.SelfAttention.q": "attn.q", "layer.0.SelfAttention.k": "attn.k",
            "layer.0.SelfAttention.v": "attn.v", "layer.0.SelfAttention.o": "attn.o",
            "layer.0.SelfAttention.relative_attention_bias": "pos_embedding.embedding",
            "layer.1.layer_norm": "norm2", "layer.1.DenseReluDense.wi_0": "ffn.gate.0",
            "layer.1.DenseReluDense.wi_1": "ffn.fc1", "layer.1.DenseReluDense.wo": "ffn.fc2",
        ]
        let wan = try write(fixture, to: folder.appending(path: "wan.safetensors")) { name, shape in
            if name == "shared.weight" { return ("token_embedding.weight", shape) }
            if name == "encoder.final_layer_norm.weight" { return ("norm.weight", shape) }
            let parts = name.split(separator: ".").map(String.init)
            let module = parts[3..<(parts.count - 1)].joined(separator: ".")
            return ("blocks.\(parts[2]).\(wanNames[module]!).weight", shape)
        }
        let tied = try write(fixture, to: folder.appending(path: "tied.safetensors")) { name, shape in
            (name == "shared.weight" ? "encoder.embed_tokens.weight" : name, shape)
        }
        for file in [comfy, wan, tied] {
            let model = try UMT5EncoderModel(file: file, device: device, configuration: fixture.configuration)
            XCTAssertEqual(try lastHiddenState(model, fixture), reference, file.lastPathComponent)
        }
        XCTAssertEqual(
            UMT5KeyMap.wan("blocks.23.ffn.gate.0.weight"), "encoder.block.23.layer.1.DenseReluDense.wi_0.weight")
        XCTAssertNil(UMT5KeyMap.wan("blocks.0.ffn.gate.1.weight"))
    }

    /// A single file's configuration comes from its shapes; the two values the weights do not record take the
    /// defaults every real UMT5 and T5 checkpoint uses.
    func testUMT5ConfigurationIsInferredFromASingleFile() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try UMT5EncoderModel(file: fixtureURL("umt5/model.safetensors"), device: device)
        var expected = fixture.configuration
        expected.relativeAttentionMaxDistance = 128
        XCTAssertEqual(model.configuration, expected)
        XCTAssertEqual(fixture.configuration.relativeAttentionMaxDistance, 20)
    }

    /// Writes the fixture's tensors to `url`, renamed (or left out, for nil) by `rename`, plus U8 tensors `extra`.
    private func write(
        _ fixture: UMT5Fixture, to url: URL, extra: [String: [UInt8]] = [:],
        _ rename: (String, [Int]) -> (String, [Int])?
    ) throws -> URL {
        var writer = SafetensorsWriter()
        for name in fixture.store.tensorNames {
            let info = try fixture.store.info(name)
            guard let (newName, shape) = rename(name, info.shape) else { continue }
            let bytes = try fixture.store.withBytes(of: name) { [UInt8]($0) }
            let count = shape.reduce(info.dtype.size, *)
            try writer.add(newName, dtype: info.dtype, shape: shape, bytes: Array(bytes.prefix(count)))
        }
        for (name, bytes) in extra.sorted(by: { $0.key < $1.key }) {
            try writer.add(name, dtype: .u8, shape: [bytes.count], bytes: bytes)
        }
        try writer.write(to: url)
        return url
    }
}
