import Foundation
import XCTest

@testable import KinoraModels

/// The relative position buckets against transformers' own `_relative_position_bucket` (float32 log and
/// truncation included), and the selector and padding mask built from them.
final class UMT5RelativePositionBiasTests: ModelTestCase {
    struct Table: Decodable {
        var num_buckets: Int
        var max_distance: Int
        var relative_positions: [Int]
        var buckets: [Int]
        /// Positions where torch's CPU log (MKL's on x86), an ulp off the correctly rounded value, moves the bucket.
        var log_dependent: [Int]
        /// The buckets at `log_dependent` with a correctly rounded log, which Kinora uses.
        var correctly_rounded_log_buckets: [Int]
    }

    /// Every bucket equals transformers' (its float32 steps included: the same formula in float64 misses some),
    /// except at four distances of two made-up configurations where torch's own answer depends on its log
    /// implementation; there Kinora gives the correctly rounded log's bucket. UMT5-XXL's (32, 128) has none.
    func testBucketsMatchTransformersIncludingNegativeLargeAndBoundaryDistances() throws {
        let data = try Data(contentsOf: fixtureURL("umt5/buckets.json"))
        let tables = try JSONDecoder().decode([Table].self, from: data)
        XCTAssertEqual(tables.count, 11)
        var checked = 0
        var float64Differs = 0
        for table in tables {
            let label = "buckets \(table.num_buckets), max distance \(table.max_distance)"
            XCTAssertEqual(table.relative_positions.count, table.buckets.count)
            XCTAssertTrue(table.relative_positions.contains(-(1 << 40)) && table.relative_positions.contains(1 << 40))
            let logDependent = Dictionary(
                uniqueKeysWithValues: zip(table.log_dependent, table.correctly_rounded_log_buckets))
            XCTAssertLessThanOrEqual(logDependent.count, 2, label)
            if table.num_buckets == 32 && table.max_distance == 128 { XCTAssertTrue(logDependent.isEmpty) }
            for (position, expected) in zip(table.relative_positions, table.buckets) {
                let bucket = UMT5RelativePositionBias.bucket(
                    position, numBuckets: table.num_buckets, maxDistance: table.max_distance)
                XCTAssertEqual(bucket, logDependent[position] ?? expected, "\(label), relative position \(position)")
                checked += 1
                let float64 = float64Bucket(position, numBuckets: table.num_buckets, maxDistance: table.max_distance)
                if logDependent[position] == nil && float64 != expected { float64Differs += 1 }
            }
        }
        XCTAssertGreaterThan(float64Differs, 0, "the table must tell float32 arithmetic from float64")
        print(
            "UMT5 buckets: \(checked) relative positions over \(tables.count) configurations match transformers "
                + "(\(float64Differs) of them differ when computed in float64; 4 depend on torch's log and are not "
                + "compared with it)")
    }

    /// The bucket formula computed in Double throughout, which transformers does not do.
    private func float64Bucket(_ position: Int, numBuckets: Int, maxDistance: Int) -> Int {
        let half = numBuckets / 2
        let maxExact = half / 2
        let distance = Double(position.magnitude)
        guard distance >= Double(maxExact) else { return (position > 0 ? half : 0) + Int(distance) }
        let scaled =
            log(distance / Double(maxExact)) / log(Double(maxDistance) / Double(maxExact))
            * Double(half - maxExact)
        return (position > 0 ? half : 0) + min(maxExact + Int(scaled), half - 1)
    }

    /// A few values worked out by hand for UMT5-XXL's 32 buckets and max distance 128: keys before the query use
    /// buckets 0–15, keys after it 16–31; distances 0–7 are exact, 8–127 logarithmic, 128 and beyond clamp.
    func testBucketsOfUMT5XXLByHand() {
        let cases = [
            (0, 0), (-1, 1), (1, 17), (-7, 7), (7, 23), (-8, 8), (8, 24), (-11, 8), (-12, 9), (-16, 10),
            (-32, 12), (-64, 14), (-127, 15), (-128, 15), (-100_000, 15), (128, 31), (Int.max, 31),
            (Int.min, 15),
        ]
        for (position, expected) in cases {
            XCTAssertEqual(
                UMT5RelativePositionBias.bucket(position, numBuckets: 32, maxDistance: 128), expected,
                "relative position \(position)")
        }
    }

    func testSelectorMarksEachQueryKeyPairsBucketOnce() {
        let bias = UMT5RelativePositionBias(
            configuration: UMT5Config(
                relativeAttentionNumBuckets: 32,
                relativeAttentionMaxDistance: 20))
        let length = 40
        let values = bias.selectorValues(length: length)
        XCTAssertEqual(values.count, 32 * length * length)
        for query in 0..<length {
            for key in 0..<length {
                let column = query * length + key
                let ones = (0..<32).filter { values[$0 * length * length + column] == 1 }
                XCTAssertEqual(ones, [UMT5RelativePositionBias.bucket(key - query, numBuckets: 32, maxDistance: 20)])
            }
        }
        XCTAssertEqual(values.filter { $0 != 0 }.count, length * length)
    }

    func testPaddingMaskHidesPaddedKeysWithTheLowestFloat() throws {
        XCTAssertNil(UMT5RelativePositionBias.paddingMask([[1, 1, 1], [1, 1, 1]]))
        let mask = try XCTUnwrap(UMT5RelativePositionBias.paddingMask([[1, 1, 1], [1, 0, 0]]))
        XCTAssertEqual(mask.shape, [2, 1, 1, 3])
        XCTAssertEqual(mask.values, [0, 0, 0, 0, -Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude])
        // transformers' where(mask, bias, min): added to a bias, the lowest float stays the lowest float.
        XCTAssertEqual(-Float.greatestFiniteMagnitude + 1e30, -Float.greatestFiniteMagnitude)
    }
}
