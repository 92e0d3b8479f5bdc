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
}
