@testable import KinoraTensor
import XCTest

/// The multiply-and-shift division the index kernels use must equal integer division for every dividend below 2³¹.
final class FastDivisorTests: XCTestCase {
    func testDivisionByMultiplyAndShiftIsExactBelowTwoToTheThirtyOne() {
        let large = [255, 256, 257, 65_535, 65_536, 65_537, (1 << 20) + 3, 1 << 30, (1 << 30) + 1, FastDivisor.limit - 1,
                     FastDivisor.limit]
        for divisor in Array(1...3000) + large {
            let fast = FastDivisor(divisor)
            var dividends: [UInt32] = [0, 1, 2, UInt32(Int32.max), UInt32(Int32.max) - 1]
            for multiple in [1, 2, 3, 1000] where divisor * multiple <= FastDivisor.limit {
                let product = UInt32(divisor * multiple)
                dividends += [product - 1, product] + (product < UInt32(Int32.max) ? [product + 1] : [])
            }
            // Fifty more spread over the range (Knuth's multiplicative hash of 1...50, kept below 2³¹).
            dividends += (1...50).map { UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) & 0x7FFF_FFFF }
            for n in dividends where fast.divide(n) != n / UInt32(divisor) {
                XCTFail("\(n) / \(divisor): \(fast.divide(n)), not \(n / UInt32(divisor))")
                break
            }
        }
    }

    func testPowersOfTwoShiftAndOneIsItself() {
        XCTAssertEqual(FastDivisor(1).shift, 0)
        XCTAssertEqual(FastDivisor(1).divide(12345), 12345)
        XCTAssertEqual(FastDivisor(64).shift, 6)
        XCTAssertEqual(FastDivisor(64).multiplier, 1)
    }
}
