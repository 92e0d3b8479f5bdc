import Foundation
import KinoraTensor
import XCTest

@testable import KinoraModels

/// UMT5 with f16 and bf16 activations against transformers' fp32 run of the tiny fixture (`UMT5Fixture`): with f16
/// the residual stream, its norms and `wo` stay f32 as in transformers' fp16 model (`_keep_in_fp32_modules =
/// ["wo"]`), with bf16 everything is bf16; Wan's prompt embeddings leave in f32 either way.
///
/// Tolerances (relative L2): ten units of the type's rounding, as `WanHalfPrecisionTests` argues: 5e-3 for f16,
/// 4e-2 for bf16 (transformers' own bf16-weight run of this encoder is 1.04e-2 from fp32).
final class UMT5HalfPrecisionTests: ModelTestCase {
    func testHalfActivationsMatchTransformersAndF16KeepsTheStreamF32() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try fixture.model(self)
        XCTAssertEqual(model.activationType(nil), .f32)
        let expected = try fixture.values("last_hidden_state")
        for (precision, tolerance, stream) in [
            (ActivationPrecision.fp16, 5e-3, DType.f32), (.bf16, 4e-2, .bf16),
        ] {
            let graph = makeGraph()
            graph.activationDType = model.activationType(precision)
            let hidden = graph.input(try model.embedding.tensor(fixture.inputIDs, on: device))
            let selector = try model.positionBias.selector(length: 40, on: graph)
            let padding = try UMT5RelativePositionBias.paddingMask(fixture.attentionMask).map {
                try graph.input($0.values, shape: $0.shape)
            }
            let block = try model.block(0)(graph, hidden, selector: selector, padding: padding)
            XCTAssertEqual(block.dtype, stream, "\(precision): the residual stream's type")
            let output = try model(graph, inputIDs: fixture.inputIDs, attentionMask: fixture.attentionMask)
            let actual = try graph.run([output])[0].floats()
            let error = relativeL2(actual, expected)
            XCTAssertLessThanOrEqual(error, tolerance, "\(precision)")
            print("UMT5, \(precision) activations vs transformers fp32: relative L2 \(error)")
        }
        let embeds = try model.wanPromptEmbeds(
            inputIDs: fixture.inputIDs, attentionMask: fixture.attentionMask, maxSequenceLength: 48, arena: arena,
            streamed: true, precision: .fp16)
        XCTAssertEqual(embeds.dtype, .f32)
        XCTAssertEqual(embeds.shape, [2, 48, 32])
    }
}
