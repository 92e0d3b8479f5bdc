import XCTest

@testable import KinoraPipeline

final class StillAnimatorTests: XCTestCase {
    /// A planar RGB picture whose red channel is the column / (width - 1), green the row / (height - 1), blue 0.5.
    private func gradient(width: Int, height: Int) -> [Float] {
        var values = [Float](repeating: 0.5, count: 3 * width * height)
        for row in 0..<height {
            for column in 0..<width {
                values[row * width + column] = Float(column) / Float(width - 1)
                values[width * height + row * width + column] = Float(row) / Float(height - 1)
            }
        }
        return values
    }

    private func pixel(_ frame: [UInt8], _ column: Int, _ row: Int, width: Int) -> [UInt8] {
        Array(frame[3 * (row * width + column)..<3 * (row * width + column) + 3])
    }

    func testStillCameraAtTheSameSizeReproducesThePicture() throws {
        let image = gradient(width: 13, height: 7)
        let animator = try StillAnimator(image: image, width: 13, height: 7, move: .none, outputWidth: 13,
                                         outputHeight: 7)
        let frame = animator.frame(3, of: 5)
        for row in 0..<7 {
            for column in 0..<13 {
                let expected = (0..<3).map { UInt8((Double(image[$0 * 91 + row * 13 + column]) * 255).rounded()) }
                XCTAssertEqual(pixel(frame, column, row, width: 13), expected, "(\(column), \(row))")
            }
        }
    }

    func testZoomTwoShowsTheCentralHalfScaledBilinearly() throws {
        // 9x9 picture, zoom 2: the crop is 4.5 pixels wide starting at 2.25; output pixel x samples 2.25 + (x + 0.5)
        // * 4.5 / 9 - 0.5 = 2 + x / 2.
        let image = gradient(width: 9, height: 9)
        let move = CameraMove(zoom: .init(2, 2), ease: .linear)
        let frame = try StillAnimator(image: image, width: 9, height: 9, move: move, outputWidth: 9, outputHeight: 9)
            .frame(0, of: 1)
        for column in 0..<9 {
            let red = (2 + Double(column) / 2) / 8
            XCTAssertEqual(pixel(frame, column, 4, width: 9)[0], UInt8((red * 255).rounded()), "column \(column)")
        }
    }

    func testPanMovesTheCropAndStaysInsideThePicture() throws {
        let image = gradient(width: 16, height: 16)
        let move = CameraMove(zoom: .init(2, 2), pan: .init(-0.25, 0.25), ease: .linear)
        let animator = try StillAnimator(image: image, width: 16, height: 16, move: move, outputWidth: 16,
                                         outputHeight: 16)
        XCTAssertEqual(animator.crop(at: 0).x, 0, accuracy: 1e-12, "the left half")
        XCTAssertEqual(animator.crop(at: 1).x, 8, accuracy: 1e-12, "the right half")
        XCTAssertEqual(animator.crop(at: 0.5).x, 4, accuracy: 1e-12)
        XCTAssertLessThan(pixel(animator.frame(0, of: 3), 15, 8, width: 16)[0],
                          pixel(animator.frame(2, of: 3), 0, 8, width: 16)[0] + 1)
    }

    func testCropTakesTheOutputsAspectFromTheMiddleOfTheStill() throws {
        let animator = try StillAnimator(image: gradient(width: 64, height: 64), width: 64, height: 64, move: .none,
                                         outputWidth: 256, outputHeight: 144)
        let crop = animator.crop(at: 0)
        XCTAssertEqual(crop.width, 64, accuracy: 1e-12)
        XCTAssertEqual(crop.height, 36, accuracy: 1e-12)
        XCTAssertEqual(crop.y, 14, accuracy: 1e-12)
        XCTAssertEqual(animator.frame(0, of: 1).count, 3 * 256 * 144)
    }

    func testSmoothEaseStartsAndEndsAtRest() {
        let move = CameraMove(zoom: .init(1, 2), ease: .smooth)
        XCTAssertEqual(move.state(at: 0).zoom, 1)
        XCTAssertEqual(move.state(at: 0.25).zoom, 1.15625, accuracy: 1e-12, "smoothstep(0.25) = 0.15625")
        XCTAssertEqual(move.state(at: 0.5).zoom, 1.5, accuracy: 1e-12)
        XCTAssertEqual(move.state(at: 1).zoom, 2)
        XCTAssertEqual(CameraMove(zoom: .init(1, 2), ease: .linear).state(at: 0.25).zoom, 1.25, accuracy: 1e-12)
    }

    func testWrongValueCountIsRejected() {
        XCTAssertThrowsError(try StillAnimator(image: [0, 0, 0], width: 2, height: 2, move: .none, outputWidth: 4,
                                               outputHeight: 4))
    }

    func testNaNAndInfinitePixelsBecomeBlackAndWhiteInsteadOfTrapping() throws {
        var image = [Float](repeating: 0.5, count: 3 * 2 * 2)
        (image[0], image[4], image[8]) = (.nan, .infinity, -.infinity)
        let frame = try StillAnimator(image: image, width: 2, height: 2, move: .none, outputWidth: 2, outputHeight: 2)
            .frame(0, of: 1)
        XCTAssertEqual(frame, [0, 255, 0] + [UInt8](repeating: 128, count: 9))
    }
}
