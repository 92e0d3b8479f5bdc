import CFFmpeg
import Foundation
import XCTest

@testable import KinoraMedia

final class PixelConverterTests: XCTestCase {
    /// The bytes of every plane of a YUV 4:2:0 frame, row by row without padding.
    private func planes(_ frame: Frame, width: Int, height: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        let data = [frame.pointer.pointee.data.0, frame.pointer.pointee.data.1, frame.pointer.pointee.data.2]
        let strides = [frame.pointer.pointee.linesize.0, frame.pointer.pointee.linesize.1,
                       frame.pointer.pointee.linesize.2]
        for plane in 0..<3 {
            let (planeWidth, planeHeight) = plane == 0 ? (width, height) : ((width + 1) / 2, (height + 1) / 2)
            for row in 0..<planeHeight {
                bytes += UnsafeBufferPointer(start: data[plane]! + row * Int(strides[plane]), count: planeWidth)
            }
        }
        return bytes
    }

    func testSliceThreadedConversionEqualsSingleThreaded() throws {
        let (width, height) = (322, 182)
        var generator = SystemRandomNumberGenerator()
        let pixels = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var results: [[UInt8]] = []
        for threads in [1, 4] {
            let frame = try Frame(width: width, height: height, pixelFormat: AV_PIX_FMT_YUV420P)
            let converter = PixelConverter(accurate: false, threads: threads)
            // Twice: the second call reuses the context built by the first.
            try converter.convert(rgb24: pixels, width: width, height: height, into: frame)
            try converter.convert(rgb24: pixels, width: width, height: height, into: frame)
            results.append(planes(frame, width: width, height: height))
        }
        XCTAssertEqual(results[0], results[1])
    }

    func testConversionUsesBT709LimitedRange() throws {
        let frame = try Frame(width: 2, height: 2, pixelFormat: AV_PIX_FMT_YUV420P)
        let converter = PixelConverter(accurate: false, threads: 0)
        let white = [UInt8](repeating: 255, count: 12)
        try converter.convert(rgb24: white, width: 2, height: 2, into: frame)
        XCTAssertEqual(planes(frame, width: 2, height: 2), [235, 235, 235, 235, 128, 128])
        // Pure red: BT.709 gives Y = 16 + 219 × 0.2126 ≈ 63 (BT.601 would give 81).
        let red = [UInt8]([255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0])
        try converter.convert(rgb24: red, width: 2, height: 2, into: frame)
        XCTAssertEqual(Int(planes(frame, width: 2, height: 2)[0]), 63, accuracy: 1)
    }

    /// swscale's vector loads read whole registers, a few bytes past the last pixel of a row; the pixels handed to
    /// the converter end right before a page that cannot be read, so such a read would crash the test.
    func testConversionReadsNothingPastTheLastPixel() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for (width, height) in [(64, 4), (61, 5), (322, 3)] {
            let count = width * height * 3
            let pages = (count + page - 1) / page + 1
            let mapping = try XCTUnwrap(mmap(nil, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                             -1, 0))
            XCTAssertNotEqual(mapping, MAP_FAILED)
            defer { munmap(mapping, pages * page) }
            let guardPage = mapping + (pages - 1) * page
            XCTAssertEqual(mprotect(guardPage, page, PROT_NONE), 0)
            let start = guardPage.assumingMemoryBound(to: UInt8.self) - count
            let pixels = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) }
            start.update(from: pixels, count: count)
            for threads in [1, 0] {
                let converter = PixelConverter(accurate: false, threads: threads)
                let frame = try Frame(width: width, height: height, pixelFormat: AV_PIX_FMT_YUV420P)
                try converter.convert(rgb24: UnsafeBufferPointer(start: start, count: count), width: width,
                                      height: height, into: frame)
                let reference = try Frame(width: width, height: height, pixelFormat: AV_PIX_FMT_YUV420P)
                try converter.convert(rgb24: pixels, width: width, height: height, into: reference)
                XCTAssertEqual(planes(frame, width: width, height: height),
                               planes(reference, width: width, height: height), "\(width)x\(height)")
            }
        }
    }
}
