import XCTest

@testable import KinoraMedia

final class ValueBoundsTests: XCTestCase {
    func testValuesInsideTheRangePassThrough() throws {
        XCTAssertEqual(try ValueBounds.check(1.5, "a start", in: ValueBounds.seconds, unit: "s"), 1.5)
        XCTAssertEqual(try ValueBounds.check(48_000, "a rate", in: ValueBounds.sampleRate, unit: "Hz"), 48_000)
    }

    func testHugeNaNAndInfiniteValuesAreRefusedNamingTheValueAndTheRange() {
        for (value, shown) in [(1e308, "1e+308"), (.nan, "nan"), (-.infinity, "-inf")] {
            XCTAssertThrowsError(try ValueBounds.check(value, "track 'a.wav' start", in: ValueBounds.seconds,
                                                       unit: "s")) { error in
                XCTAssertEqual(String(describing: error),
                               "track 'a.wav' start must be within 0...86400 s, got \(shown)")
            }
        }
        XCTAssertThrowsError(try ValueBounds.check(3_000_000_000, "the mix's sample rate", in: ValueBounds.sampleRate,
                                                   unit: "Hz")) { error in
            XCTAssertEqual(String(describing: error),
                           "the mix's sample rate must be within 8000...384000 Hz, got 3000000000")
        }
    }

    func testAFrameTooLargeForAnyBufferIsRefusedStatingTheRangeInsteadOfOverflowing() {
        XCTAssertThrowsError(try VideoFrame(width: 1 << 40, height: 1 << 40, rgb8: [])) { error in
            XCTAssertEqual(String(describing: error),
                           "the frame width must be within 1...16384 pixels, got \(1 << 40)")
        }
    }
}
