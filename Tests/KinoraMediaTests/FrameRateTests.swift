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

    func testRatesWhoseTermsDoNotFitFFmpegsThirtyTwoBitsAreRefused() {
        XCTAssertThrowsError(try FrameRate(parsing: "3000000000")) { error in
            XCTAssertEqual(String(describing: error),
                           "the frame rate 3000000000/1's numerator must be within 1...2147483647, got 3000000000")
        }
        XCTAssertThrowsError(try FrameRate(parsing: "1/3000000000"))
        XCTAssertEqual(try FrameRate(parsing: "2147483647").numerator, 2_147_483_647)
    }
}
