import XCTest

@testable import KinoraPipeline

final class ShellWordTests: XCTestCase {
    func testQuotingKeepsPlainWordsAndQuotesTheRest() {
        XCTAssertEqual(ShellWord.quoted("/a/b-c_d.yaml"), "/a/b-c_d.yaml")
        XCTAssertEqual(ShellWord.quoted(""), "''")
        XCTAssertEqual(ShellWord.quoted("a b"), "'a b'")
        XCTAssertEqual(ShellWord.quoted("$HOME"), "'$HOME'")
        XCTAssertEqual(ShellWord.quoted("it's"), "'it'\\''s'")
    }
}
