import XCTest

@testable import KinoraFormats

final class JSONDocumentTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue {
        try JSONDocument.parse(Array(text.utf8))
    }

    private func syntaxError(_ text: String) -> JSONSyntaxError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error as? JSONSyntaxError
        }
    }

    func testParsesEveryKindAndKeepsKeyOrder() throws {
        let value = try parse(#" {"b": [1, -2, 3.5e1, true, false, null], "a": {"x": "y\u00e9\ud83d\ude00\n"}} "#)
        XCTAssertEqual(
            value,
            .object([
                ("b", .array([.integer(1), .integer(-2), .number(35), .bool(true), .bool(false), .null])),
                ("a", .object([("x", .string("yé😀\n"))])),
            ]))
    }

    func testIntegersAboveTwoToTheFiftyThreeStayExact() throws {
        XCTAssertEqual(try parse("[9007199254740993]"), .array([.integer(9_007_199_254_740_993)]))
    }

    func testErrorsSayWhatAndAtWhichByte() {
        XCTAssertEqual(
            syntaxError(#"{"a": [1, 2,, 3]}"#),
            JSONSyntaxError(offset: 12, reason: "unexpected byte 0x2c where a value was expected"))
        XCTAssertEqual(syntaxError(#"{"a": 1, "a": 2}"#)?.offset, 9)
        XCTAssertEqual(syntaxError(#"{"a": 1} x"#)?.reason, "unexpected content after the JSON value")
        XCTAssertEqual(syntaxError(#"{"a": "unterminated"#)?.reason, "the text ends inside a string")
        XCTAssertEqual(
            syntaxError("[99999999999999999999]")?.reason, "the integer 99999999999999999999 does not fit in 64 bits")
        XCTAssertEqual(syntaxError("[1e999]")?.reason, "the number 1e999 is out of range")
        XCTAssertEqual(syntaxError("[01]")?.reason, "expected ',' or ']' in an array")
        XCTAssertEqual(syntaxError("\"a\u{01}b\"")?.reason, "a control character inside a string must be escaped")
        XCTAssertEqual(syntaxError(#""\ud800x""#)?.reason, "a high surrogate is not followed by a low one")
        XCTAssertEqual(syntaxError(#""\udc00""#)?.reason, "a lone low surrogate \u{5c}udc00")
        XCTAssertNotNil(syntaxError("[tru]"))
        XCTAssertNotNil(syntaxError(""))
    }

    func testInvalidUTF8InAStringIsRefused() {
        XCTAssertThrowsError(try JSONDocument.parse([0x22, 0xC3, 0x28, 0x22])) { error in
            XCTAssertEqual(error as? JSONSyntaxError, JSONSyntaxError(offset: 1, reason: "a string is not valid UTF-8"))
        }
    }

    func testDeepNestingIsRefusedInsteadOfExhaustingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertEqual(syntaxError(deep)?.reason, "nesting deeper than 64 levels")
        let allowed = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNil(syntaxError(allowed))
    }
}
