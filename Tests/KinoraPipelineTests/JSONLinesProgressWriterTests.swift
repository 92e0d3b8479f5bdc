import Foundation
import XCTest

@testable import KinoraPipeline

final class JSONLinesProgressWriterTests: XCTestCase {
    func testWritesOneParsableObjectPerLine() throws {
        var output = ""
        let writer = JSONLinesProgressWriter { output += $0 }
        writer.receive(.renderStarted(stages: 2, totalSteps: 5, estimatedSeconds: 3, budgetBytes: 100))
        writer.receive(.cacheHit(stage: "a/b", key: "k", steps: 3))
        writer.receive(.memory(usedBytes: 10, budgetBytes: 100))
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(output.hasSuffix("\n"))
        XCTAssertEqual(lines[1], #"{"event":"cache_hit","key":"k","stage":"a/b","steps":3}"#)
        for line in lines {
            XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }
}
