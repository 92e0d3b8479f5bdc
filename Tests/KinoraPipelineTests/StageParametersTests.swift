import XCTest

@testable import KinoraPipeline

final class StageParametersTests: XCTestCase {
    func testCanonicalFormIgnoresInsertionOrderButNotTypesOrBoundaries() {
        let a = StageParameters(["x": .int(1), "y": .string("ab")])
        var b = StageParameters()
        b["y"] = .string("ab")
        b["x"] = .int(1)
        XCTAssertEqual(a.canonical, b.canonical)
        XCTAssertNotEqual(StageParameters(["x": .int(1)]).canonical, StageParameters(["x": .string("1")]).canonical)
        XCTAssertNotEqual(StageParameters(["a": .string("bc")]).canonical,
                          StageParameters(["ab": .string("c")]).canonical)
        XCTAssertNotEqual(StageParameters(["n": .number(0.1)]).canonical,
                          StageParameters(["n": .number(0.1 + 1e-16)]).canonical)
    }

    func testTypedAccessors() {
        let parameters = StageParameters(["i": .int(3), "d": .number(2.5), "s": .string("x"), "b": .bool(true)])
        XCTAssertEqual(parameters.int("i"), 3)
        XCTAssertEqual(parameters.number("i"), 3)
        XCTAssertEqual(parameters.number("d"), 2.5)
        XCTAssertEqual(parameters.string("s"), "x")
        XCTAssertEqual(parameters.bool("b"), true)
        XCTAssertNil(parameters.int("s"))
    }
}
