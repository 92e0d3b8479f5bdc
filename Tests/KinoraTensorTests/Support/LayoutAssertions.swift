import XCTest

extension TensorTestCase {
    /// Asserts that `body` throws an error whose message starts with `op:` (the op that rejected its operands).
    func assertThrowsNaming(_ op: String, file: StaticString = #filePath, line: UInt = #line,
                            _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue("\(error)".hasPrefix(op + ":"), "\(error) should name \(op)", file: file, line: line)
        }
    }
}
