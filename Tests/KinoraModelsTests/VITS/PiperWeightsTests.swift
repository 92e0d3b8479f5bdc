import Foundation
import KinoraFormats
import KinoraTestSupport
@testable import KinoraModels
import XCTest

/// Small hand-built ONNX graphs that are not (complete) Piper exports: opening them as voices fails with a typed
/// error naming the file and what is missing.
final class PiperWeightsTests: ModelTestCase {
    private func zeros(_ name: String, _ dims: [Int64]) -> ONNXTestModel.Tensor {
        .floats(name, dims, [Float](repeating: 0, count: Int(dims.reduce(1, *))))
    }

    private func openVoice(_ model: ONNXTestModel) throws -> (URL, Error?) {
        let url = try ONNXTestModel.write(model.bytes, self)
        do {
            _ = try PiperVoice(model: url, sampleRate: 22050, speakers: 1, device: device)
            return (url, nil)
        } catch {
            return (url, error)
        }
    }

    func testPiperRejectsAGraphWithoutTheTextEmbedding() throws {
        var model = ONNXTestModel()
        model.initializers = [zeros("dec.conv_pre.weight", [4, 2, 7])]
        let (url, error) = try openVoice(model)
        XCTAssertEqual(error as? VITSError,
                       .notAPiperVoice(file: url.path, reason: "tensor 'enc_p.emb.weight' is missing"))
        XCTAssertTrue("\(String(describing: error))".contains(url.path))
    }

    func testPiperFindsRenamedWeightsThroughTheirNodes() throws {
        var model = ONNXTestModel()
        model.initializers = [zeros("sid", [5, 4]), zeros("onnx::Conv_7", [8, 4, 5]),
                              zeros("flow.flows.0.enc.in_layers.0.bias", [8])]
        model.nodes = [
            .init(name: "/enc_p/emb/Gather", opType: "Gather", inputs: ["sid", "input"], outputs: ["x"]),
            .init(name: "/flow/flows.0/enc/in_layers.0/Conv", opType: "Conv",
                  inputs: ["h", "onnx::Conv_7", "flow.flows.0.enc.in_layers.0.bias"], outputs: ["y"],
                  ints: ["dilations": [1]]),
        ]
        let weights = try PiperWeights(onnx: ONNXFile(url: ONNXTestModel.write(model.bytes, self)))
        XCTAssertEqual(try weights.shape("enc_p.emb.weight"), [5, 4])
        XCTAssertEqual(try weights.shape("flow.flows.0.enc.in_layers.0.weight"), [8, 4, 5])
        XCTAssertEqual(weights.convolution("flow.flows.0.enc.in_layers.0")?.ints("dilations"), [1])
        XCTAssertEqual(weights.indices("flow.flows.0.enc.in_layers.", ".weight"), [0])
        // The encoder's layers are missing, so the hyper-parameters cannot be worked out.
        XCTAssertThrowsError(try VITSConfiguration(weights: weights)) { error in
            guard case .underivableHyperparameter(_, "n_layers", _) = error as? VITSError else {
                return XCTFail("\(error)")
            }
        }
    }

    func testPiperRejectsRelativeEmbeddingsThatDoNotFitTheHeads() throws {
        var model = ONNXTestModel()
        model.initializers = [zeros("enc_p.emb.weight", [5, 4]), zeros("enc_p.encoder.attn_layers.0.conv_q.weight",
                                                                       [4, 4, 1]),
                              zeros("enc_p.encoder.attn_layers.0.emb_rel_k", [1, 8, 3])]
        let (url, error) = try openVoice(model)
        XCTAssertEqual(error as? VITSError, .underivableHyperparameter(
            file: url.path, name: "n_heads/window_size", reason: "emb_rel_k has shape [1, 8, 3] for 4 hidden channels"))
    }
}
