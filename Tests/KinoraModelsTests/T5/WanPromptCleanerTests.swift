import Foundation
import XCTest

@testable import KinoraModels

/// Compares `WanPromptCleaner` with diffusers 0.42.1's `prompt_clean` without ftfy (CPython 3.11's `html.unescape`
/// and `re`), as recorded by `scripts/fixtures/make_t5_tokenizer_fixtures.py`.
final class WanPromptCleanerTests: XCTestCase {
    func testCleaningMatchesDiffusersOnHTMLReferencesAndPythonWhitespace() throws {
        let expected = try T5TokenizerFixtures.expected()
        XCTAssertGreaterThanOrEqual(expected.clean_only.count, 5)
        for cleaning in expected.clean_only {
            XCTAssertEqual(WanPromptCleaner.clean(cleaning.prompt), cleaning.clean, cleaning.prompt.debugDescription)
        }
    }

    func testUnescapingIsAppliedTwiceAsThePipelineDoes() {
        XCTAssertEqual(WanPromptCleaner.unescapeHTML("&amp;lt;"), "&lt;")
        XCTAssertEqual(WanPromptCleaner.clean("&amp;lt;b&amp;gt;"), "<b>")
        XCTAssertEqual(WanPromptCleaner.clean("&amp;amp;amp;"), "&amp;")
    }

    func testInformationSeparatorsAreWhitespaceButZeroWidthSpaceIsNot() {
        XCTAssertEqual(WanPromptCleaner.clean("\u{1C}a\u{1F}\u{85}b\u{200B}c\u{3000}"), "a b\u{200B}c")
    }

    func testNamedReferenceTableIsCompleteAndParsed() {
        XCTAssertEqual(WanPromptCleaner.unescapeHTML("&zwnj;&NotEqualTilde;&frac12"), "\u{200C}\u{2242}\u{338}\u{BD}")
        XCTAssertEqual(PythonHTMLTables.namedReferences.split(separator: "\n").count, 2231)
    }
}
