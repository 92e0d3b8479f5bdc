import Foundation
import KinoraFormats
@testable import KinoraModels
import KinoraTensor
import XCTest

/// Conformance of `UNet2DConditionModel` with diffusers 0.42.1 on tiny random-weight SD 1.x- and SDXL-layout
/// UNets (`scripts/fixtures/make_unet_fixtures.py`), plus its configuration, input checks and memory estimates.
final class UNet2DConditionModelTests: ModelTestCase {
    /// fp32 weights: relative L2 error against diffusers' fp32 outputs.
    static let fp32Tolerance = 1e-3
    /// The same weights rounded to f16 (read as f16 in the shaders), against diffusers' fp32 outputs.
    static let fp16Tolerance = 5e-3

    struct Outputs {
        var embedding: [Float]
        var firstDownBlock: [Float]
        var midBlock: [Float]
        var output: [Float]
    }

    func configuration(_ model: String) throws -> UNet2DConditionConfig {
        try UNet2DConditionConfig(contentsOf: fixtureURL("unet/\(model)/config.json"))
    }

    /// The fixture model from its diffusers folder, or with the weights in `store`.
    func makeModel(_ model: String, store: WeightStore? = nil) throws -> UNet2DConditionModel {
        guard let store else { return try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device) }
        return try UNet2DConditionModel(configuration: configuration(model),
                                        weights: DeviceWeights(store: store, device: device))
    }

    /// Runs case `name` of `model` and returns the recorded values, or compares nothing when it throws.
    func run(_ model: String, _ name: String, unet: UNet2DConditionModel? = nil, graph: Graph? = nil) throws
        -> Outputs {
        let cases = try fixture("unet/\(model)/cases.safetensors")
        let unet = try unet ?? makeModel(model)
        let graph = graph ?? makeGraph()
        func input(_ key: String) throws -> Value {
            try graph.input(cases.floats("\(name).\(key)"), shape: cases.info("\(name).\(key)").shape)
        }
        var added: UNetAddedConditions?
        if cases.tensorNames.contains("\(name).text_embeds") {
            added = UNetAddedConditions(textEmbeds: try input("text_embeds"),
                                        timeIds: try cases.floats("\(name).time_ids"))
        }
        let recorded = try unet.record(graph, sample: input("sample"), timestep: cases.floats("\(name).timestep")[0],
                                       encoderHiddenStates: input("encoder_hidden_states"), addedConditions: added)
        let tensors = try graph.run([recorded.embedding, recorded.firstDownBlock, XCTUnwrap(recorded.midBlock),
                                     recorded.output])
        XCTAssertEqual(tensors[3].shape, try cases.info("\(name).output").shape)
        return Outputs(embedding: try tensors[0].floats(), firstDownBlock: try tensors[1].floats(),
                       midBlock: try tensors[2].floats(), output: try tensors[3].floats())
    }

    /// Relative L2 errors of each recorded value of case `name`, after asserting each is within `tolerance`.
    @discardableResult
    func assertMatches(_ model: String, _ name: String, store: WeightStore? = nil, tolerance: Double,
                       file: StaticString = #filePath, line: UInt = #line) throws -> [Double] {
        let cases = try fixture("unet/\(model)/cases.safetensors")
        let outputs = try run(model, name, unet: makeModel(model, store: store))
        let pairs: [(String, [Float])] = [("embedding", outputs.embedding), ("down_blocks.0", outputs.firstDownBlock),
                                          ("mid_block", outputs.midBlock), ("output", outputs.output)]
        let errors = try pairs.map { key, actual in
            let expected = try cases.floats("\(name).\(key)")
            // Without SDXL's added conditioning the time embedding is one row, broadcast over the batch.
            let actual = key == "embedding" && actual.count < expected.count
                ? Array([[Float]](repeating: actual, count: expected.count / actual.count).joined()) : actual
            assertClose(actual, expected, tolerance: tolerance, "\(model) \(name) \(key)", file: file, line: line)
            return relativeL2(actual, expected)
        }
        let weightsFile = store.map { " (\(URL(filePath: $0.sourceName).lastPathComponent))" } ?? ""
        print("UNet \(model) \(name)\(weightsFile): relative L2 errors "
            + "(embedding, down_blocks.0, mid_block, output) \(errors)")
        return errors
    }

    // MARK: Configuration

    func testUNetConfigDecodesDiffusersConfigJSON() throws {
        let sd = try configuration("sd")
        XCTAssertEqual(sd.blockOutChannels, [16, 32])
        XCTAssertEqual(sd.attentionHeadDim, .all(8))
        XCTAssertEqual(sd.downBlockTypes, ["CrossAttnDownBlock2D", "DownBlock2D"])
        XCTAssertEqual(sd.midBlockType, "UNetMidBlock2DCrossAttn")
        XCTAssertFalse(sd.useLinearProjection)
        XCTAssertNil(sd.additionEmbedType)
        XCTAssertEqual(sd.timeEmbedDim, 64)
        let sdxl = try configuration("sdxl")
        XCTAssertEqual(sdxl.attentionHeadDim, .each([2, 4]))
        XCTAssertEqual(sdxl.transformerLayersPerBlock, .each([1, 2]))
        XCTAssertEqual(sdxl.additionEmbedType, "text_time")
        XCTAssertEqual(sdxl.additionTimeEmbedDim, 8)
        XCTAssertEqual(sdxl.projectionClassEmbeddingsInputDim, 64)
        XCTAssertTrue(sdxl.useLinearProjection)
        // diffusers' naming quirk: attention_head_dim is the number of heads.
        let unet = try makeModel("sdxl")
        XCTAssertEqual(unet.heads, [2, 4])
        XCTAssertEqual(unet.downBlocks[1].crossAttention?.transformer(unet.weights, channels: 32).headDim, 8)
        XCTAssertNil(unet.downBlocks[0].crossAttention)
        XCTAssertEqual(unet.upBlocks.map(\.layers), [2, 2])
        // Older config.json files without the newer keys take diffusers' defaults.
        let minimal = try JSONDecoder().decode(UNet2DConditionConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(minimal.blockOutChannels, [320, 640, 1280, 1280])
        XCTAssertEqual(minimal.crossAttentionDim, .all(1280))
        XCTAssertEqual(minimal.normNumGroups, 32)
    }

    // MARK: Conformance (fp32)

    func testUNetSDLayoutMatchesDiffusersForABatchOfTwo() throws {
        try assertMatches("sd", "batch2", tolerance: Self.fp32Tolerance)
    }

    func testUNetSDLayoutMatchesDiffusersOnOddLatents() throws {
        try assertMatches("sd", "odd", tolerance: Self.fp32Tolerance)
    }

    func testUNetSDXLLayoutMatchesDiffusersForABatchOfTwo() throws {
        try assertMatches("sdxl", "batch2", tolerance: Self.fp32Tolerance)
    }

    func testUNetSDXLLayoutMatchesDiffusersOnOddLatents() throws {
        try assertMatches("sdxl", "odd", tolerance: Self.fp32Tolerance)
    }

    // MARK: fp16 weights

    /// The fixture's weights rewritten as f16 (what an fp16 checkpoint holds).
    func halfPrecisionStore(_ model: String) throws -> SafetensorsFile {
        let source = try fixture("unet/\(model)/diffusion_pytorch_model.safetensors")
        var writer = SafetensorsWriter()
        for name in source.tensorNames {
            try writer.add(name, shape: source.info(name).shape, floats: source.floats(name), as: .f16)
        }
        let url = try makeTemporaryFolder(self).appending(path: "\(model)-fp16.safetensors")
        try writer.write(to: url)
        return try SafetensorsFile(url: url)
    }

    func testUNetWithFP16WeightsStaysCloseToDiffusers() throws {
        for model in ["sd", "sdxl"] {
            let errors = try assertMatches(model, "batch2", store: halfPrecisionStore(model),
                                           tolerance: Self.fp16Tolerance)
            XCTAssertGreaterThan(errors[3], 0, "f16 weights should differ from f32 somewhere")
        }
    }

    // MARK: Bad inputs

    func testUNetRejectsInputsOfTheWrongShape() throws {
        let unet = try makeModel("sdxl")
        let graph = makeGraph()
        let sample = try graph.input([Float](repeating: 0, count: 2 * 4 * 8 * 6), shape: [2, 4, 8, 6])
        let context = try graph.input([Float](repeating: 0, count: 2 * 7 * 32), shape: [2, 7, 32])
        let pooled = try graph.input([Float](repeating: 0, count: 2 * 16), shape: [2, 16])
        let timeIds = [Float](repeating: 1024, count: 12)
        let good = UNetAddedConditions(textEmbeds: pooled, timeIds: timeIds)

        func assertInvalid(_ name: String, _ body: () throws -> Value, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard case UNetError.invalidInput(let input, _, _) = error else {
                    return XCTFail("unexpected error \(error)", line: line)
                }
                XCTAssertEqual(input, name, line: line)
                XCTAssertTrue("\(error)".contains(name), line: line)
            }
        }
        let threeChannels = try graph.input([Float](repeating: 0, count: 2 * 3 * 8 * 6), shape: [2, 3, 8, 6])
        assertInvalid("sample") {
            try unet(graph, sample: threeChannels, timestep: 1, encoderHiddenStates: context, addedConditions: good)
        }
        let wideContext = try graph.input([Float](repeating: 0, count: 2 * 7 * 48), shape: [2, 7, 48])
        assertInvalid("encoderHiddenStates") {
            try unet(graph, sample: sample, timestep: 1, encoderHiddenStates: wideContext, addedConditions: good)
        }
        let oneContext = try graph.input([Float](repeating: 0, count: 7 * 32), shape: [1, 7, 32])
        assertInvalid("encoderHiddenStates") {
            try unet(graph, sample: sample, timestep: 1, encoderHiddenStates: oneContext, addedConditions: good)
        }
        assertInvalid("addedConditions") {
            try unet(graph, sample: sample, timestep: 1, encoderHiddenStates: context)
        }
        let widePooled = try graph.input([Float](repeating: 0, count: 2 * 20), shape: [2, 20])
        assertInvalid("textEmbeds") {
            try unet(graph, sample: sample, timestep: 1, encoderHiddenStates: context,
                     addedConditions: UNetAddedConditions(textEmbeds: widePooled, timeIds: timeIds))
        }
        assertInvalid("timeIds") {
            try unet(graph, sample: sample, timestep: 1, encoderHiddenStates: context,
                     addedConditions: UNetAddedConditions(textEmbeds: pooled, timeIds: [1024, 1024]))
        }
        let sd = try makeModel("sd")
        assertInvalid("addedConditions") {
            try sd(graph, sample: sample, timestep: 1, encoderHiddenStates: context, addedConditions: good)
        }
    }

    func testUNetRejectsUnsupportedConfigurationsAndWrongWeights() throws {
        var config = try configuration("sd")
        config.numAttentionHeads = .all(4)
        config.classEmbedType = "timestep"
        let weights = DeviceWeights(store: try fixture("unet/sd/diffusion_pytorch_model.safetensors"), device: device)
        XCTAssertThrowsError(try UNet2DConditionModel(configuration: config, weights: weights)) { error in
            XCTAssertTrue("\(error)".contains("num_attention_heads"), "\(error)")
            XCTAssertTrue("\(error)".contains("class_embed_type"), "\(error)")
        }
        config = try configuration("sd")
        config.crossAttentionDim = .each([32, 48])
        XCTAssertThrowsError(try UNet2DConditionModel(configuration: config, weights: weights)) { error in
            XCTAssertTrue("\(error)".contains("cross_attention_dim"), "\(error)")
        }
        config = try configuration("sd")
        config.downBlockTypes[1] = "AttnDownBlock2D"
        XCTAssertThrowsError(try UNet2DConditionModel(configuration: config, weights: weights)) { error in
            XCTAssertTrue("\(error)".contains("AttnDownBlock2D"), "\(error)")
        }
        // The SD weights under the SDXL configuration: the first mismatching tensor is named.
        let mismatched = try UNet2DConditionModel(configuration: configuration("sdxl"), weights: weights)
        let graph = makeGraph()
        let sample = try graph.input([Float](repeating: 0, count: 4 * 8 * 8), shape: [1, 4, 8, 8])
        let context = try graph.input([Float](repeating: 0, count: 7 * 32), shape: [1, 7, 32])
        let pooled = try graph.input([Float](repeating: 0, count: 16), shape: [1, 16])
        XCTAssertThrowsError(try mismatched(graph, sample: sample, timestep: 1, encoderHiddenStates: context,
                                            addedConditions: UNetAddedConditions(textEmbeds: pooled,
                                                                                 timeIds: [Float](repeating: 0,
                                                                                                  count: 6))))
        { error in
            XCTAssertTrue("\(error)".contains("add_embedding"), "\(error)")
        }
    }

    // MARK: Memory

    /// With each convolution strategy a model takes (`.fastest`: Winograd and its workspace on CPU drivers).
    func testUNetMemoryEstimatesCoverWhatARunUses() throws {
        for model in ["sd", "sdxl"] {
            for strategy in [ConvolutionStrategy.fastest, .automatic] {
                let store = try fixture("unet/\(model)/diffusion_pytorch_model.safetensors")
                let unet = try UNet2DConditionModel(configuration: configuration(model),
                                                    weights: DeviceWeights(store: store, device: device),
                                                    convolutionStrategy: strategy)
                XCTAssertEqual(unet.weightBytes,
                               try store.tensorNames.reduce(0) { try $0 + store.info($1).byteCount })
                // Large enough latents that the arena's 64 KiB slot rounding does not dominate; planned, not run.
                for (batch, height, width) in [(2, 64, 48), (1, 96, 80)] {
                    let graph = makeGraph()
                    let sample = try graph.input([Float](repeating: 0, count: batch * 4 * height * width),
                                                 shape: [batch, 4, height, width])
                    let context = try graph.input([Float](repeating: 0, count: batch * 77 * 32),
                                                  shape: [batch, 77, 32])
                    let pooled = try graph.input([Float](repeating: 0, count: batch * 16), shape: [batch, 16])
                    let timeIds = [Float](repeating: 512, count: 6 * batch)
                    let added = model == "sdxl" ? UNetAddedConditions(textEmbeds: pooled, timeIds: timeIds) : nil
                    let output = try unet(graph, sample: sample, timestep: 1, encoderHiddenStates: context,
                                          addedConditions: added)
                    let planned = Int(try graph.memoryPlan([output]).activationBytes)
                    let estimate = unet.activationBytes(batch: batch, height: height, width: width)
                    print("UNet \(model) batch \(batch), \(height)×\(width), \(strategy) convolutions: activation "
                        + "estimate \(estimate) bytes, planned arena \(planned) bytes")
                    XCTAssertGreaterThanOrEqual(estimate, planned, model)
                    XCTAssertLessThanOrEqual(estimate, 3 * planned, model)
                    XCTAssertEqual(unet.activationBytes(batch: 2 * batch, height: height, width: width), 2 * estimate)
                }
            }
        }
    }
}
