import KinoraModels
import XCTest

final class PiperTextFrontEndTests: XCTestCase {
    func testPiperEmptyOrBlankTextIsATypedError() throws {
        let frontEnd = PiperTextFrontEnd(config: try PiperFixture.config())
        for text in ["", "  \n\t "] {
            XCTAssertThrowsError(try frontEnd.encode(text)) { XCTAssertEqual($0 as? PiperError, .emptyText) }
        }
    }

    func testPiperTextWithoutPhonemesIsATypedError() throws {
        let frontEnd = PiperTextFrontEnd(config: try PiperFixture.config())
        XCTAssertThrowsError(try frontEnd.encode("...")) { XCTAssertEqual($0 as? PiperError, .noPhonemes(text: "...")) }
    }

    func testPiperUnmappedCharactersAreSkippedAndReported() throws {
        var config = try PiperFixture.config()
        config.phonemeType = .text
        let encoded = try PiperTextFrontEnd(config: config).encode("ab☃c☃")
        XCTAssertEqual(encoded.skippedPhonemes, ["☃"])
        XCTAssertEqual(encoded.sentences.first?.ids, [1, 0, 14, 0, 15, 0, 16, 0, 2])
    }

    func testPiperSentencesAreEncodedSeparately() throws {
        let encoded = try PiperTextFrontEnd(config: try PiperFixture.config()).encode("Hi. Bye?")
        XCTAssertEqual(encoded.sentences.count, 2)
        XCTAssertEqual(encoded.sentences.map { $0.ids.first }, [1, 1])
        XCTAssertEqual(encoded.sentences.map { $0.ids.last }, [2, 2])
    }
}
