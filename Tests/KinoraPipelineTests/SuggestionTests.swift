import XCTest

@testable import KinoraPipeline

final class SuggestionTests: XCTestCase {
    func testEditDistanceCountsInsertionsDeletionsSubstitutionsAndTranspositions() {
        XCTAssertEqual(Suggestion.editDistance("", "abc"), 3)
        XCTAssertEqual(Suggestion.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(Suggestion.editDistance("promtp", "prompt"), 1)
        XCTAssertEqual(Suggestion.editDistance("same", "same"), 0)
    }

    func testClosestSuggestsNearWordsOnly() {
        let keys = ["prompt", "negative", "seed", "duration"]
        XCTAssertEqual(Suggestion.closest(to: "promt", in: keys), "prompt")
        XCTAssertEqual(Suggestion.closest(to: "Duraton", in: keys), "duration")
        XCTAssertNil(Suggestion.closest(to: "camera", in: keys))
        XCTAssertEqual(Suggestion.hint(for: "sed", in: keys), " (did you mean 'seed'?)")
        XCTAssertEqual(Suggestion.hint(for: "xyz", in: keys), "")
    }
}
