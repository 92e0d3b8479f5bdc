import Foundation
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Padding: the attention mask hides padded keys exactly, so a padded prompt's tokens get the outputs of the
/// unpadded prompt; and Wan's prompt embeddings (diffusers' trim and zero padding) built on that.
final class UMT5PaddingTests: ModelTestCase {
    /// Relative L2 bound for runs over different lengths (the kernels' tiling may change with L); measured 0 on
    /// lavapipe, where the two runs agree bit for bit.
    static let lengthTolerance = 1e-5

    private func run(_ model: UMT5EncoderModel, _ ids: [[Int]], _ mask: [[Int]]?) throws -> [Float] {
        let graph = makeGraph()
        return try graph.run([model(graph, inputIDs: ids, attentionMask: mask)])[0].floats()
    }

    func testPaddedPromptMatchesItsUnpaddedRun() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try fixture.model(self)
        let padded = try run(model, fixture.inputIDs, fixture.attentionMask)
        let short = try fixture.rows("short_input_ids")
        XCTAssertEqual(short[0], Array(fixture.inputIDs[1].prefix(23)))
        let alone = try run(model, short, nil)
        let rows = Array(padded[(40 * 32)..<(40 * 32 + 23 * 32)])
        assertClose(rows, alone, tolerance: Self.lengthTolerance, "padded prompt vs its unpadded run")
        assertClose(
            alone, try fixture.values("short_last_hidden_state"), tolerance: UMT5EncoderModelTests.fp32Tolerance,
            "unpadded run vs transformers")
        print("UMT5 padding: padded prompt vs its unpadded run, relative L2 \(relativeL2(rows, alone))")

        // Without the mask the padding is attended and the outputs move: the test above can fail.
        let unmasked = try run(model, fixture.inputIDs, nil)
        XCTAssertGreaterThan(relativeL2(Array(unmasked[(40 * 32)..<(40 * 32 + 23 * 32)]), alone), 1e-2)
    }

    /// Masked keys contribute exactly nothing, whatever their ids: the attended rows do not change by a bit.
    func testPaddingIdsDoNotReachTheAttendedTokens() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try fixture.model(self)
        let reference = try run(model, fixture.inputIDs, fixture.attentionMask)
        var ids = fixture.inputIDs
        for position in 23..<40 { ids[1][position] = 300 - position }
        let changed = try run(model, ids, fixture.attentionMask)
        XCTAssertEqual(Array(changed[..<(40 * 32 + 23 * 32)]), Array(reference[..<(40 * 32 + 23 * 32)]))
        XCTAssertNotEqual(Array(changed[(40 * 32 + 23 * 32)...]), Array(reference[(40 * 32 + 23 * 32)...]))
    }

    func testWanPromptEmbedsMatchDiffusers() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try fixture.model(self)
        let ids = try fixture.rows("wan_input_ids")
        let mask = try fixture.rows("wan_attention_mask")
        XCTAssertEqual(ids.map(\.count), [64, 64])
        let expected = try fixture.values("wan_prompt_embeds")

        // diffusers' trim and padding over the encoder's output at the tokenizer's full length.
        let graph = makeGraph()
        let hidden = try model(graph, inputIDs: ids, attentionMask: mask)
        let embeds = try UMT5EncoderModel.wanPromptEmbeds(
            graph, lastHiddenState: hidden, attentionMask: mask,
            maxSequenceLength: 64)
        let full = try graph.run([embeds])[0]
        XCTAssertEqual(full.shape, [2, 64, 32])
        assertClose(try full.floats(), expected, tolerance: UMT5EncoderModelTests.fp32Tolerance, "full length")

        // The encoder over the attended columns only (40 here), streamed and resident.
        for streamed in [true, false] {
            let trimmed = try model.wanPromptEmbeds(
                inputIDs: ids, attentionMask: mask, maxSequenceLength: 64,
                arena: arena, streamed: streamed)
            XCTAssertEqual(trimmed.shape, [2, 64, 32])
            let values = try trimmed.floats()
            assertClose(
                values, expected, tolerance: UMT5EncoderModelTests.fp32Tolerance, "trimmed, streamed \(streamed)")
            XCTAssertTrue(values[(64 * 32 + 23 * 32)...].allSatisfy { $0 == 0 }, "padding rows are exactly zero")
            XCTAssertTrue(values[(40 * 32)..<(64 * 32)].allSatisfy { $0 == 0 })
            print(
                "UMT5 Wan prompt embeds (streamed \(streamed)): relative L2 \(relativeL2(values, expected)) "
                    + "against diffusers")
        }
    }

    func testWanPromptEmbedsRejectAPromptLongerThanTheSequence() throws {
        let fixture = try UMT5Fixture(test: self)
        let model = try fixture.model(self)
        XCTAssertThrowsError(
            try model.wanPromptEmbeds(
                inputIDs: fixture.inputIDs,
                attentionMask: fixture.attentionMask, maxSequenceLength: 32,
                arena: arena)
        ) { error in
            XCTAssertEqual(error as? UMT5Error, .promptTooLongForWan(row: 0, length: 40, maximum: 32))
            XCTAssertTrue("\(error)".contains("more than Wan's max_sequence_length 32"), "\(error)")
        }
        let graph = makeGraph()
        let flat = try graph.input([Float](repeating: 0, count: 8), shape: [2, 4])
        XCTAssertThrowsError(
            try UMT5EncoderModel.wanPromptEmbeds(graph, lastHiddenState: flat, attentionMask: [[1, 1], [1, 0]])
        ) { XCTAssertEqual($0 as? UMT5Error, .invalidHiddenState(shape: [2, 4])) }
        let hidden = try graph.input([Float](repeating: 0, count: 24), shape: [2, 4, 3])
        XCTAssertThrowsError(
            try UMT5EncoderModel.wanPromptEmbeds(graph, lastHiddenState: hidden, attentionMask: [[1, 1, 1, 0]])
        ) { XCTAssertTrue("\($0)".contains("1 mask rows of lengths [4] for last_hidden_state [2, 4, 3]"), "\($0)") }
        // An empty prompt (all padding) gives zeros, as diffusers' u[:0] padded with zeros.
        let empty = try model.wanPromptEmbeds(
            inputIDs: [fixture.inputIDs[1]],
            attentionMask: [
                [Int](
                    repeating: 0,
                    count: 40)
            ],
            maxSequenceLength: 64, arena: arena)
        XCTAssertEqual(empty.shape, [1, 64, 32])
        XCTAssertTrue(try empty.floats().allSatisfy { $0 == 0 })
    }
}
