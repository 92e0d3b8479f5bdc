import XCTest

@testable import KinoraPipeline

final class YAMLFieldTests: XCTestCase {
    /// The root field of `text` and its document (to read the issues).
    private func field(_ text: String) throws -> (YAMLField, YAMLDocument) {
        let document = try YAMLDocument(text: text, file: "f.yaml")
        return (try XCTUnwrap(document.root), document)
    }

    func testSecondsAcceptPlainSuffixedAndMinuteForms() throws {
        XCTAssertEqual(try field("2.5").0.seconds(in: 0...100), 2.5)
        XCTAssertEqual(try field("2.5s").0.seconds(in: 0...100), 2.5)
        XCTAssertEqual(try field("1:02.5").0.seconds(in: 0...100), 62.5)
        let (bad, document) = try field("1:75")
        XCTAssertNil(bad.seconds(in: 0...100))
        XCTAssertEqual(document.issues.first?.message, "expected a time in seconds (2.5, 2.5s or 1:02.5), got '1:75'")
    }

    func testNumbersAcceptTheirUnitAndCheckTheRange() throws {
        XCTAssertEqual(try field("-6 dB").0.number(in: -60...0, unit: "dB"), -6)
        let (loud, document) = try field("6")
        XCTAssertNil(loud.number(in: -60...0, unit: "dB"))
        XCTAssertEqual(document.issues.first?.message, "must be between -60 and 0, got 6")
    }

    func testSizesAcceptBothFormsAndExplainBadSides() throws {
        XCTAssertEqual(try field("512x288").0.size(), ImageSize(width: 512, height: 288))
        XCTAssertEqual(try field("[512, 288]").0.size(), ImageSize(width: 512, height: 288))
        let (bad, document) = try field("32x100")
        XCTAssertNil(bad.size())
        XCTAssertEqual(document.issues.first?.message,
                       "width 32 is outside 64...8192; height 100 is not a multiple of 8 (try 96 or 104)")
    }

    func testMappingReportsUnknownKeysAtTheirPosition() throws {
        let (root, document) = try field("a: 1\nbee: 2\n")
        let mapping = try XCTUnwrap(root.mapping(["a", "be"]))
        XCTAssertEqual(mapping.entries.map(\.key), ["a"])
        XCTAssertEqual(document.issues.first?.location, SourceLocation(file: "f.yaml", line: 2, column: 1))
        XCTAssertEqual(document.issues.first?.field, "bee")
        XCTAssertTrue(document.issues.first?.message.contains("did you mean 'be'?") == true)
    }

    func testNullValuesCountAsAbsent() throws {
        let (root, document) = try field("a: ~\nb:\n")
        let mapping = try XCTUnwrap(root.mapping(["a", "b"]))
        XCTAssertNil(mapping["a"])
        XCTAssertNil(mapping.required("b"))
        XCTAssertEqual(document.issues.map(\.message), ["missing required field 'b'"])
    }

    func testWholeNumbersAndSeedsRejectFractionsAndNegatives() throws {
        let (fraction, document) = try field("2.5")
        XCTAssertNil(fraction.integer(in: 0...10))
        XCTAssertNil(try field("-1").0.unsigned())
        XCTAssertEqual(try field("18446744073709551615").0.unsigned(), UInt64.max)
        XCTAssertEqual(document.issues.first?.message, "expected a whole number, got '2.5'")
    }
}
