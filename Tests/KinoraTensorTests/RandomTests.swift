import KinoraTensor
import XCTest

final class RandomTests: TensorTestCase {
    func testPhiloxMatchesTheRandom123KnownAnswers() {
        let zero = PhiloxNormal.block(counter: (0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
        let ones = PhiloxNormal.block(counter: (.max, .max, .max, .max), key: (.max, .max))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD])
        let pi = PhiloxNormal.block(counter: (0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344),
                                    key: (0xA409_3822, 0x299F_31D0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1])
    }

    func testDeviceNormalsEqualTheHostImplementationAtAnyOffset() throws {
        for (count, offset, seed) in [(1, 0, 1), (7, 3, 42), (130, 5, 0xDEAD_BEEF_0123), (1000, (1 << 32) * 4 - 6, 7)] {
            let graph = makeGraph()
            let y = try graph.randomNormal(shape: [count], seed: UInt64(seed), offset: UInt64(offset))
            let expected = PhiloxNormal.host(count: count, seed: UInt64(seed), offset: UInt64(offset))
            assertClose(try graph.run([y])[0].floats(), expected.map(Double.init), tolerance: 1e-6,
                        "count \(count) offset \(offset)")
        }
    }

    func testOffsetsContinueOneStream() {
        let whole = PhiloxNormal.host(count: 20, seed: 9)
        XCTAssertEqual(PhiloxNormal.host(count: 13, seed: 9, offset: 7), Array(whole[7...]))
    }

    func testNormalsHaveZeroMeanAndUnitDeviation() throws {
        let graph = makeGraph()
        let values = try graph.run([graph.randomNormal(shape: [100, 1000], seed: 2024)])[0].floats()
        let mean = values.reduce(0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        // Standard errors over 1e5 samples: 0.0032 for the mean, 0.0022 for the deviation; allow about 6 of them.
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance.squareRoot(), 1, accuracy: 0.015)
        let beyondThree = values.filter { abs($0) > 3 }.count
        XCTAssertEqual(Double(beyondThree) / Double(values.count), 0.0027, accuracy: 0.001)
    }

    func testSameSeedRepeatsAndDifferentSeedsDiffer() throws {
        let graph = makeGraph()
        let draws = try [5, 5, 6].map { try graph.randomNormal(shape: [3, 33], seed: UInt64($0)) }
        let results = try graph.run(draws).map { try $0.floats() }
        XCTAssertEqual(results[0], results[1])
        XCTAssertGreaterThan(zip(results[0], results[2]).filter { $0 != $1 }.count, 95)
    }

    func testRandomNormalRejectsEmptyShapes() {
        let graph = makeGraph()
        assertThrowsNaming("randomNormal") { _ = try graph.randomNormal(shape: [0, 3], seed: 1) }
    }
}
