import KinoraMedia
import XCTest

@testable import KinoraPipeline

final class FrameRateSpecTests: XCTestCase {
    private func rate(_ text: String) throws -> (FrameRateSpec?, [SourceIssue]) {
        let document = try YAMLDocument(text: text, file: "f.yaml")
        let field = try XCTUnwrap(document.root)
        return (FrameRateSpec(reading: field), document.issues)
    }

    func testReadsWholeDecimalNTSCAndFractionRates() throws {
        XCTAssertEqual(try rate("24").0, FrameRateSpec(numerator: 24, denominator: 1))
        XCTAssertEqual(try rate("12.5").0, FrameRateSpec(numerator: 25, denominator: 2))
        XCTAssertEqual(try rate("29.97").0, FrameRateSpec(numerator: 30_000, denominator: 1001))
        XCTAssertEqual(try rate("30000/1001").0?.description, "30000/1001")
    }

    func testRejectsZeroAndAbsurdRates() throws {
        XCTAssertNil(try rate("0").0)
        XCTAssertEqual(try rate("500").1.first?.message, "must be between 1 and 240 frames per second, got 500")
        XCTAssertNil(try rate("fast").0)
    }

    func testHugeAndTinyDecimalRatesAreRangeErrorsNotCrashes() throws {
        for text in ["1e30", "1e300", "99999999999999999999", "-1e30", "0.0001"] {
            let (parsed, issues) = try rate(text)
            XCTAssertNil(parsed, text)
            XCTAssertEqual(issues.map(\.message), ["must be between 1 and 240 frames per second, got \(text)"], text)
        }
    }

    func testHugeFractionIsARangeError() throws {
        let (parsed, issues) = try rate("9000000000000000000/1")
        XCTAssertNil(parsed)
        XCTAssertEqual(issues.first?.message, "must be between 1 and 240 frames per second, got 9000000000000000000/1")
    }

    func testAgreesWithTheMediaFrameRateParser() throws {
        for text in ["23.98", "23.976", "24", "25", "29.97", "59.94", "12.5", "30000/1001", "48000/2002"] {
            let media = try FrameRate(parsing: text)
            let spec = try XCTUnwrap(try rate(text).0, text)
            XCTAssertEqual(spec, FrameRateSpec(numerator: media.numerator, denominator: media.denominator), text)
        }
        XCTAssertEqual(try rate("23.98").0, FrameRateSpec(numerator: 24_000, denominator: 1001))
    }
}
