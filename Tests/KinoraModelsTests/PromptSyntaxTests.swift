import Foundation
import KinoraModels
import XCTest

/// `plain` reads a prompt as diffusers' pipelines do; `a1111` as A1111 and ComfyUI do. Uses the real CLIP vocabulary
/// of `Tests/Fixtures/tokenizer/`.
final class PromptSyntaxTests: XCTestCase {
    private func tokenizer() throws -> CLIPTokenizer {
        let fixtures = fixturesFolder.appending(path: "tokenizer")
        return try CLIPTokenizer(vocabularyJSON: gunzip(fixtures.appending(path: "vocab.json.gz")),
                                 merges: gunzip(fixtures.appending(path: "merges.txt.gz")))
    }

    func testDefaultIsPlainSoTheSameSeedGivesDiffusersImage() {
        XCTAssertEqual(PromptSyntax.default, .plain)
        XCTAssertEqual(GenerationSettings(prompt: "x").promptSyntax, .plain)
    }

    func testParenthesesAreLiteralUnderPlainAndEmphasisUnderA1111() throws {
        let tokenizer = try tokenizer()
        let prompt = "a photo of a robot (v2.0)"
        let plain = PromptSyntax.plain.windows(prompt, tokenizer: tokenizer)
        XCTAssertEqual(plain.map(\.ids), [tokenizer.paddedIDs(prompt)])
        XCTAssertEqual(Set(plain[0].weights), [1])
        XCTAssertEqual(tokenizer.tokens(prompt).suffix(6), ["(</w>", "v</w>", "2</w>", ".</w>", "0</w>", ")</w>"])

        let a1111 = PromptSyntax.a1111.windows(prompt, tokenizer: tokenizer)
        XCTAssertEqual(a1111.map(\.ids), [tokenizer.paddedIDs("a photo of a robot v2.0")])
        let emphasized = tokenizer.ids("v2.0").count
        let content = tokenizer.ids("a photo of a robot").count
        XCTAssertEqual(Array(a1111[0].weights[1...(content + emphasized)]),
                       Array(repeating: 1, count: content) + Array(repeating: 1.1, count: emphasized))
        XCTAssertNotEqual(plain[0].ids, a1111[0].ids)
    }

    func testPlainKeepsOneWindowOf75TokensAndIgnoresBreak() throws {
        let tokenizer = try tokenizer()
        let long = Array(repeating: "a red fox", count: 40).joined(separator: " ")
        XCTAssertEqual(PromptSyntax.plain.windows(long, tokenizer: tokenizer).map(\.ids), [tokenizer.paddedIDs(long)])
        XCTAssertEqual(PromptSyntax.plain.droppedTokenCount(long, tokenizer: tokenizer), 120 - 75)
        XCTAssertEqual(PromptSyntax.a1111.windows(long, tokenizer: tokenizer).count, 2)
        XCTAssertEqual(PromptSyntax.a1111.droppedTokenCount(long, tokenizer: tokenizer), 0)

        let broken = "a cat BREAK a dog"
        XCTAssertEqual(PromptSyntax.plain.windows(broken, tokenizer: tokenizer).map(\.ids),
                       [tokenizer.paddedIDs(broken)])
        XCTAssertEqual(PromptSyntax.a1111.windows(broken, tokenizer: tokenizer).count, 2)
    }
}
