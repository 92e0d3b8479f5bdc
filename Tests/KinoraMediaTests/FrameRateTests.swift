import XCTest

@testable import KinoraMedia

final class FrameRateTests: XCTestCase {
    func testParsesIntegersFractionsAndNTSCDecimals() throws {
        XCTAssertEqual(try FrameRate(parsing: "24"), try FrameRate(24))
        XCTAssertEqual(try FrameRate(parsing: "24000/1001").denominator, 1001)
        XCTAssertEqual(try FrameRate(parsing: "29.97"), try FrameRate(30000, 1001))
        XCTAssertEqual(try FrameRate(parsing: "12.5"), try FrameRate(25, 2))
        XCTAssertEqual(try FrameRate(parsing: "50/2").description, "25")
        XCTAssertThrowsError(try FrameRate(parsing: "0"))
        XCTAssertThrowsError(try FrameRate(parsing: "fast"))
    }

    func testHugeDecimalRatesAreRefusedNotOverflowed() throws {
        XCTAssertThrowsError(try FrameRate(parsing: "1e30"))
        XCTAssertThrowsError(try FrameRate(parsing: "99999999999999999999.5"))
        XCTAssertThrowsError(try FrameRate(parsing: "inf"))
        XCTAssertEqual(try FrameRate(parsing: "999999.5"), try FrameRate(1_999_999, 2))
    }
}
