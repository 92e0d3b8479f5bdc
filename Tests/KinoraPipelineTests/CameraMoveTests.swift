import XCTest

@testable import KinoraPipeline

final class CameraMoveTests: XCTestCase {
    private func move(_ text: String) throws -> (CameraMove?, [SourceIssue]) {
        let document = try YAMLDocument(text: text, file: "f.yaml")
        return (CameraMove(reading: try XCTUnwrap(document.root)), document.issues)
    }

    func testReadsPairsAndNone() throws {
        let (read, issues) = try move("{zoom: [1, 1.2], pan: [0, 0.05], ease: linear}")
        XCTAssertEqual(issues, [])
        XCTAssertEqual(read, CameraMove(zoom: .init(1, 1.2), pan: .init(0, 0.05), ease: .linear))
        XCTAssertEqual(try move("none").0, CameraMove.none)
    }

    func testPanMustKeepTheCropInsideThePicture() throws {
        // At zoom 1.2 the crop is 1/1.2 of the width, so its centre may move (1 - 1/1.2) / 2 ≈ 0.083.
        XCTAssertNotNil(try move("{zoom: [1.2, 1.2], pan: [0.08, -0.08]}").0)
        let (read, issues) = try move("{zoom: [1.2, 1.0], pan: [0.08, 0.01]}")
        XCTAssertNil(read)
        XCTAssertEqual(issues.map(\.field), ["pan"])
        XCTAssertTrue(issues.first?.message.contains("at the end leaves the picture at zoom 1") == true)
    }

    func testZoomBelowOneIsRejected() throws {
        let (read, issues) = try move("{zoom: [0.9, 1]}")
        XCTAssertNil(read)
        XCTAssertEqual(issues.map(\.field), ["zoom[0]"])
    }
}
