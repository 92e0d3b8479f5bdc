import Foundation
import XCTest

/// Reading the report `kinora render` writes next to its output (`NAME.report.json`), for the render tests.
extension XCTestCase {
    /// The report's stage records, in the order they completed.
    func report(_ output: URL) throws -> [[String: Any]] {
        let url = output.deletingPathExtension().appendingPathExtension("report.json")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try XCTUnwrap(object["stages"] as? [[String: Any]])
    }

    /// The stages the render ran (not from the cache).
    func ranStages(_ output: URL) throws -> Set<String> {
        Set(try report(output).filter { $0["cacheHit"] as? Bool == false }.compactMap { $0["stage"] as? String })
    }
}
