import Foundation
import XCTest

@testable import KinoraPipeline

final class ShardIndexTests: XCTestCase {
    func testShardNumbersAreCheckedAndParsed() throws {
        XCTAssertEqual(try ShardIndex(parsing: "2/4"), try ShardIndex(index: 2, count: 4))
        XCTAssertEqual(try ShardIndex(parsing: "1/1").fileStem, "shard-1-of-1")
        for text in ["0/2", "3/2", "1/0", "-1/2", "2", "a/b", "1/2/3", "", "/2", "1/"] {
            guard case .invalidShard(let given, let reason)? = farmError({ _ = try ShardIndex(parsing: text) }) else {
                XCTFail(text)
                continue
            }
            XCTAssertEqual(given, text)
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertTrue(String(describing: farmError { _ = try ShardIndex(parsing: "3/2") } as Any)
            .contains("from 1 to 2"))
        // A record's shard is checked as it is read.
        let decoded = try? JSONDecoder().decode(ShardIndex.self, from: Data(#"{"index": 0, "count": 2}"#.utf8))
        XCTAssertNil(decoded)
    }
}
