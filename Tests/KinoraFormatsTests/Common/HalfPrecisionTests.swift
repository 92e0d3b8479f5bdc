import XCTest

@testable import KinoraFormats

final class HalfPrecisionTests: XCTestCase {
    func testHalfDecodesNormalsSubnormalsAndSpecials() {
        XCTAssertEqual(HalfPrecision.float(fromHalf: 0x3C00), 1)
        XCTAssertEqual(HalfPrecision.float(fromHalf: 0xC000), -2)
        XCTAssertEqual(HalfPrecision.float(fromHalf: 0x7BFF), 65504)
        XCTAssertEqual(HalfPrecision.float(fromHalf: 0x0001), 0x1p-24)
        XCTAssertEqual(HalfPrecision.float(fromHalf: 0x8000).sign, .minus)
        XCTAssertEqual(HalfPrecision.float(fromHalf: 0x7C00), .infinity)
        XCTAssertTrue(HalfPrecision.float(fromHalf: 0x7E00).isNaN)
    }

    func testEveryFiniteHalfRoundTripsThroughFloat() {
        for bits in UInt16.min...UInt16.max where bits & 0x7C00 != 0x7C00 {
            XCTAssertEqual(HalfPrecision.half(from: HalfPrecision.float(fromHalf: bits)), bits)
        }
    }

    func testHalfRoundsToNearestEvenAndOverflowsToInfinity() {
        XCTAssertEqual(HalfPrecision.half(from: 1 + 0x1p-11), 0x3C00)
        XCTAssertEqual(HalfPrecision.half(from: 1 + 3 * 0x1p-11), 0x3C02)
        XCTAssertEqual(HalfPrecision.half(from: 0x1p-25), 0)
        XCTAssertEqual(HalfPrecision.half(from: 0x1.8p-25), 1)
        XCTAssertEqual(HalfPrecision.half(from: 65520), 0x7C00)
        XCTAssertEqual(HalfPrecision.half(from: -.infinity), 0xFC00)
    }

    func testBFloatRoundsToNearestEven() {
        XCTAssertEqual(HalfPrecision.bfloat(from: 1), 0x3F80)
        XCTAssertEqual(HalfPrecision.bfloat(from: Float(bitPattern: 0x3F80_8000)), 0x3F80)
        XCTAssertEqual(HalfPrecision.bfloat(from: Float(bitPattern: 0x3F81_8000)), 0x3F82)
        XCTAssertEqual(HalfPrecision.float(fromBFloat: 0xC040), -3)
        XCTAssertTrue(HalfPrecision.float(fromBFloat: HalfPrecision.bfloat(from: .nan)).isNaN)
    }
}
