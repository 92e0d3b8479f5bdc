import Foundation
import KinoraModels
import XCTest

/// The examples are the doctests of A1111's `parse_prompt_attention` (`modules/prompt_parser.py`).
final class PromptWeightingTests: XCTestCase {
    private func text(_ text: String, _ weight: Double) -> PromptSegment { .text(text, weight: weight) }

    func testA1111DocumentedExamples() {
        XCTAssertEqual(PromptWeighting.parse("normal text"), [text("normal text", 1)])
        XCTAssertEqual(
            PromptWeighting.parse("an (important) word"), [text("an ", 1), text("important", 1.1), text(" word", 1)])
        XCTAssertEqual(PromptWeighting.parse("(unbalanced"), [text("unbalanced", 1.1)])
        XCTAssertEqual(PromptWeighting.parse(#"\(literal\]"#), [text("(literal]", 1)])
        XCTAssertEqual(PromptWeighting.parse("(unnecessary)(parens)"), [text("unnecessaryparens", 1.1)])
        XCTAssertEqual(
            PromptWeighting.parse("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky)))."),
            [
                text("a ", 1), text("house", 1.5730000000000004), text(" ", 1.1), text("on", 1), text(" a ", 1.1),
                text("hill", 0.55), text(", sun, ", 1.1), text("sky", 1.4641000000000006), text(".", 1.1),
            ])
    }

    func testSquareBracketsDivideAndExplicitWeightsAllowSpaces() {
        XCTAssertEqual(PromptWeighting.parse("[[dim]]"), [text("dim", 1 / 1.1 / 1.1)])
        XCTAssertEqual(PromptWeighting.parse("(cat : 0.8 )"), [text("cat ", 0.8)])
        XCTAssertEqual(PromptWeighting.parse("(w:-1.5)"), [text("w", -1.5)])
    }

    func testStrayClosersColonsAndBackslashesStayText() {
        XCTAssertEqual(PromptWeighting.parse("a) b] c:1.2)"), [text("a) b] c:1.2)", 1)])
        XCTAssertEqual(PromptWeighting.parse(#"a\b \\ c"#), [text(#"ab \ c"#, 1)])
        XCTAssertEqual(PromptWeighting.parse("ratio 16:9"), [text("ratio 16:9", 1)])
        XCTAssertEqual(PromptWeighting.parse(""), [text("", 1)])
    }

    func testBreakSplitsOnWholeWordsAndEatsSurroundingSpaces() {
        XCTAssertEqual(
            PromptWeighting.parse("a cat  BREAK (a dog) BREAKFAST"),
            [text("a cat", 1), .chunkBreak, text("", 1), text("a dog", 1.1), text(" BREAKFAST", 1)])
        XCTAssertEqual(
            PromptWeighting.parse("x BREAK BREAK y"),
            [text("x", 1), .chunkBreak, text("", 1), .chunkBreak, text("y", 1)])
    }

    func testWindowsCarryPerTokenWeightsAndBreakStartsANewWindow() throws {
        let vocabulary = ["<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2, "b</w>": 3, "c</w>": 4]
        let tokenizer = try CLIPTokenizer(
            vocabularyJSON: JSONSerialization.data(withJSONObject: vocabulary), merges: Data("#version: 0.2\n".utf8),
            maximumLength: 5)
        let windows = PromptWeighting.windows("a (b:1.5) c BREAK [a] b c a", tokenizer: tokenizer)
        XCTAssertEqual(windows.map(\.ids), [[0, 2, 3, 4, 1], [0, 2, 3, 4, 1], [0, 2, 1, 1, 1]])
        XCTAssertEqual(windows[0].weights, [1, 1, 1.5, 1, 1])
        XCTAssertEqual(windows[1].weights, [1, 1 / 1.1, 1, 1, 1])
        XCTAssertEqual(windows[2].weights, [1, 1, 1, 1, 1])
        XCTAssertEqual(PromptWeighting.windows("", tokenizer: tokenizer).map(\.ids), [[0, 1, 1, 1, 1]])
    }
}
