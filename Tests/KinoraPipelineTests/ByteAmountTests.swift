import XCTest

@testable import KinoraPipeline

final class ByteAmountTests: XCTestCase {
    func testDecimalAndBinaryUnits() {
        XCTAssertEqual(ByteAmount(parsing: "6GB")?.bytes, 6_000_000_000)
        XCTAssertEqual(ByteAmount(parsing: "6 GiB")?.bytes, 6 * 1_073_741_824)
        XCTAssertEqual(ByteAmount(parsing: "6G")?.bytes, 6 * 1_073_741_824)
        XCTAssertEqual(ByteAmount(parsing: "3.18 GiB")?.bytes, 3_414_499_000)
        XCTAssertEqual(ByteAmount(parsing: "512MiB")?.bytes, 536_870_912)
        XCTAssertEqual(ByteAmount(parsing: "1_000")?.bytes, 1000)
        XCTAssertNil(ByteAmount(parsing: "-1GB"))
        XCTAssertNil(ByteAmount(parsing: "lots"))
    }

    func testDescriptionUsesBinaryUnits() {
        XCTAssertEqual(ByteAmount(512).description, "512 B")
        XCTAssertEqual(ByteAmount(1536).description, "1.50 KiB")
        XCTAssertEqual(ByteAmount(3_414_499_000).description, "3.18 GiB")
    }
}
