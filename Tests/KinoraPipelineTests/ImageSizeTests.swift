import XCTest

@testable import KinoraPipeline

final class ImageSizeTests: XCTestCase {
    func testParsesWidthByHeight() {
        XCTAssertEqual(ImageSize(parsing: "512x288"), ImageSize(width: 512, height: 288))
        XCTAssertEqual(ImageSize(parsing: "512X288"), ImageSize(width: 512, height: 288))
        XCTAssertNil(ImageSize(parsing: "512"))
        XCTAssertNil(ImageSize(parsing: "axb"))
        XCTAssertEqual(ImageSize(width: 64, height: 72).description, "64x72")
    }

    func testHalvedStaysOnTheEightGridAndAboveTheMinimum() {
        XCTAssertEqual(ImageSize(width: 1024, height: 576).halved, ImageSize(width: 512, height: 288))
        XCTAssertEqual(ImageSize(width: 264, height: 144).halved, ImageSize(width: 128, height: 72))
        XCTAssertEqual(ImageSize(width: 96, height: 64).halved, ImageSize(width: 64, height: 64))
    }
}
