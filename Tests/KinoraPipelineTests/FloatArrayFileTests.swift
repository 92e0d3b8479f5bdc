import XCTest

@testable import KinoraPipeline

final class FloatArrayFileTests: XCTestCase {
    func testValuesReadBackBitForBit() throws {
        let url = try TestSupport.temporaryFolder(self).appendingPathComponent("a.kf32")
        let values: [Float] = [0, -0, 1.5, -3.25e-20, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity,
                               0.1, -7]
        try FloatArrayFile.write(values, shape: [1, 3, 3], to: url)
        let (read, shape) = try FloatArrayFile.read(url)
        XCTAssertEqual(shape, [1, 3, 3])
        XCTAssertEqual(read.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testShapeMustHoldTheValues() throws {
        let url = try TestSupport.temporaryFolder(self).appendingPathComponent("b.kf32")
        XCTAssertThrowsError(try FloatArrayFile.write([1, 2, 3], shape: [2, 2], to: url))
    }

    func testTruncatedFileIsRejectedNamingIt() throws {
        let url = try TestSupport.temporaryFolder(self).appendingPathComponent("c.kf32")
        try FloatArrayFile.write([1, 2, 3, 4], shape: [4], to: url)
        try Data(try Data(contentsOf: url).dropLast(2)).write(to: url)
        XCTAssertThrowsError(try FloatArrayFile.read(url)) { error in
            XCTAssertTrue("\(error)".contains("c.kf32"), "\(error)")
        }
    }
}
