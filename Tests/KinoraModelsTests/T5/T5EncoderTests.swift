import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The T5 v1.0 encoder (t5-base's architecture: Stable Audio Open's and MusicGen's text encoder) through
/// `UMT5EncoderModel` with a `t5` configuration, against transformers 5.23's `T5EncoderModel` on a tiny random model
/// (`Tests/Fixtures/t5`, `scripts/fixtures/make_t5_fixtures.py`): only layer 0 has a relative position bias, which
/// every layer reuses, and the feed-forward block is the ungated ReLU one.
final class T5EncoderTests: ModelTestCase {
    private func expected() throws -> SafetensorsFile {
        try SafetensorsFile(url: fixtureURL("t5/expected.safetensors"))
    }

    private func rows(_ name: String) throws -> [[Int]] {
        let file = try expected()
        let values = try file.floats(name).map { Int($0) }
        let length = try file.info(name).shape[1]
        return stride(from: 0, to: values.count, by: length).map { Array(values[$0..<($0 + length)]) }
    }

    func testT5MatchesTransformersResidentStreamedAndFromAFile() throws {
        let model = try UMT5EncoderModel(folder: fixtureURL("t5"), device: device)
        XCTAssertEqual(model.configuration.modelType, "t5")
        XCTAssertTrue(model.configuration.sharesPositionBias)
        XCTAssertEqual(model.configuration.feedForwardProj, "relu")
        let (ids, mask) = (try rows("input_ids"), try rows("attention_mask"))
        let reference = try expected().floats("last_hidden_state")

        let graph = makeGraph()
        let resident = try graph.run([model(graph, inputIDs: ids, attentionMask: mask)])[0].floats()
        let error = relativeL2(resident, reference)
        XCTAssertLessThanOrEqual(error, 1e-5)
        print("T5 encoder vs transformers: last_hidden_state relative L2 \(error)")

        let streamed = try UMT5EncoderModel(folder: fixtureURL("t5"), device: device)
            .streamedLastHiddenState(inputIDs: ids, attentionMask: mask, arena: arena).floats()
        let streamedError = relativeL2(streamed, reference)
        XCTAssertLessThanOrEqual(streamedError, 1e-5)
        print("T5 encoder streamed layer by layer vs transformers: relative L2 \(streamedError)")

        // One file, its configuration read off the shapes: layer 1 has no position bias, so it is T5 (the tiny
        // model's max_distance of 20 leaves no trace in the weights, so the run takes the folder's configuration).
        let file = fixtureURL("t5/model.safetensors")
        let inferred = try UMT5EncoderModel(file: file, device: device).configuration
        XCTAssertEqual(inferred.modelType, "t5")
        XCTAssertEqual([inferred.dFF, inferred.numLayers, inferred.numHeads, inferred.dKV], [37, 3, 6, 8])
        let single = try UMT5EncoderModel(file: file, device: device, configuration: model.configuration)
        let fromFile = makeGraph()
        XCTAssertEqual(try fromFile.run([single(fromFile, inputIDs: ids, attentionMask: mask)])[0].floats(), resident)

        // Every layer with its own bias (UMT5's way) over the same weights would not be T5.
        var umt5 = model.configuration
        umt5.modelType = "umt5"
        XCTAssertThrowsError(
            try UMT5EncoderModel(
                configuration: umt5,
                weights: DeviceWeights(store: SafetensorsFile(url: fixtureURL("t5/model.safetensors")), device: device))
        ) { XCTAssertTrue("\($0)".contains("this is a T5 encoder"), "\($0)") }
        var other = model.configuration
        other.modelType = "mt5"
        XCTAssertThrowsError(try other.validate()) {
            XCTAssertTrue("\($0)".contains("model_type 'mt5' is not an encoder Kinora runs"), "\($0)")
        }
    }
}
