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

    func testHeaderWhoseShapeOverflowsIsRejectedNotTrapped() throws {
        let url = try TestSupport.temporaryFolder(self).appendingPathComponent("d.kf32")
        // Rank 8, every dimension 2^32 - 1: the product overflows Int.
        var header = Array("KF32".utf8) + [8, 0, 0, 0]
        for _ in 0..<8 { header += [0xFF, 0xFF, 0xFF, 0xFF] }
        try Data(header + [0, 0, 0, 0]).write(to: url)
        XCTAssertThrowsError(try FloatArrayFile.read(url)) { error in
            XCTAssertTrue("\(error)".contains("d.kf32"), "\(error)")
        }
    }

    func testHeaderWhoseByteCountOverflowsIsRejectedNotTrapped() throws {
        let url = try TestSupport.temporaryFolder(self).appendingPathComponent("e.kf32")
        // 2^31 * 2^31 values fit Int, but not 4 bytes each.
        let header = Array("KF32".utf8) + [2, 0, 0, 0] + [0, 0, 0, 0x80] + [0, 0, 0, 0x80]
        try Data(header).write(to: url)
        XCTAssertThrowsError(try FloatArrayFile.read(url))
    }
}
