import KinoraModels
import XCTest

/// espeak-ng's clause rules as the splitter reproduces them; each expectation was checked against piper 1.8.0's
/// `espeakbridge.get_phonemes`.
final class PiperClauseSplitterTests: XCTestCase {
    private func clauses(_ text: String) -> [String] {
        PiperClauseSplitter.split(text).map { "\($0.text)|\($0.terminator)|\($0.endsSentence ? "S" : "c")" }
    }

    func testPiperClausesEndAtPunctuationFollowedBySpace() {
        XCTAssertEqual(clauses("Hello, world! How are you? Fine; thanks: yes."),
                       ["Hello,|,|c", "world!|!|S", "How are you?|?|S", "Fine;|;|c", "thanks:|:|c", "yes.|.|S"])
        XCTAssertEqual(clauses("It costs 3.14 now. Ask me?yes."), ["It costs 3.14 now.|.|S", "Ask me?yes.|.|S"])
    }

    func testPiperFullStopBeforeALowerCaseWordDoesNotEndTheClause() {
        XCTAssertEqual(clauses("The U.S.A. is big. e.g. this"), ["The U.S.A. is big. e.g. this||S"])
        XCTAssertEqual(clauses("Dr. Smith, etc., we met."), ["Dr.|.|S", "Smith,|,|c", "etc., we met.|.|S"])
        XCTAssertEqual(clauses("wait.\nno"), ["wait.|.|S", "no||S"])
    }

    func testPiperRunsOfMarksCountAsTheFirstMark() {
        XCTAssertEqual(clauses("Hmm?! Really?!"), ["Hmm?!|?|S", "Really?!|?|S"])
        XCTAssertEqual(clauses("Hi,. we"), ["Hi,.|,|c", "we||S"])
    }

    func testPiperEllipsisDashesAndParagraphsMapAsPipersBridgeDoes() {
        XCTAssertEqual(clauses("Wait...I see."), ["Wait...||c", "I see.|.|S"])
        XCTAssertEqual(clauses("Well\u{2026} fine"), ["Well\u{2026}||c", "fine||S"])
        XCTAssertEqual(clauses("a \u{2014} b and\u{2014}c"), ["a \u{2014}|;|c", "b and\u{2014}c||S"])
        XCTAssertEqual(clauses("One.\n\nTwo\n\n\nThree"), ["One.||S", "Two||S", "Three||S"])
    }

    func testPiperQuotesAfterTheMarkStartTheNextClause() {
        XCTAssertEqual(clauses("\"Quoted,\" she said."), ["\"Quoted,|,|c", "\" she said.|.|S"])
        XCTAssertEqual(clauses("End.\""), ["End.|.|S", "\"||S"])
    }

    func testPiperMarksBeforeAnyLetterDoNotEndAClause() {
        XCTAssertEqual(clauses(". , Hi."), [". , Hi.|.|S"])
        XCTAssertEqual(clauses("   "), [])
    }
}
