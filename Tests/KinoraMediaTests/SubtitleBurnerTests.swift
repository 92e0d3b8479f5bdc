import Foundation
import XCTest

@testable import KinoraMedia

/// Burned-in subtitles: the cues drawn by libass through a libavfilter graph, frame by frame, only where and when
/// they show, with their texts taken literally.
final class SubtitleBurnerTests: XCTestCase {
    private static let (width, height) = (256, 144)

    /// A flat mid-grey frame.
    private func grey() throws -> VideoFrame {
        try VideoFrame(width: Self.width, height: Self.height,
                       rgb8: [UInt8](repeating: 64, count: Self.width * Self.height * 3))
    }

    /// The rows in which `a` and `b` differ.
    private func changedRows(_ a: VideoFrame, _ b: VideoFrame) -> [Int] {
        let (x, y) = (a.rgb8, b.rgb8)
        let row = Self.width * 3
        return (0..<Self.height).filter { line in x[line * row..<(line + 1) * row] != y[line * row..<(line + 1) * row] }
    }

    /// Pixels of `frame` whose three channels are all above 200 (the white text), in rows `rows`.
    private func brightPixels(_ frame: VideoFrame, rows: Range<Int>) -> Int {
        let pixels = frame.rgb8
        var count = 0
        for y in rows {
            for x in 0..<Self.width {
                let offset = (y * Self.width + x) * 3
                if pixels[offset] > 200, pixels[offset + 1] > 200, pixels[offset + 2] > 200 { count += 1 }
            }
        }
        return count
    }

    func testACueIsDrawnBrightAtTheBottomCentreOnlyWhileItShows() throws {
        let burner = try SubtitleBurner(cues: [SubtitleCue(start: 0.5, end: 1.2, text: "Hello, harbour")],
                                        width: Self.width, height: Self.height, frameRate: FrameRate(10))
        let plain = try grey()
        for index in 0..<16 {
            let burned = try burner.burn(plain)
            let rows = changedRows(plain, burned)
            // Frames at 0.5 … 1.1 s show the cue; libass shows an event from its start to before its end.
            if (5...11).contains(index) {
                XCTAssertFalse(rows.isEmpty, "frame \(index) shows the cue")
                XCTAssertGreaterThanOrEqual(rows.min() ?? 0, Self.height * 2 / 3, "frame \(index): bottom third only")
                XCTAssertGreaterThan(brightPixels(burned, rows: Self.height * 2 / 3..<Self.height), 40)
            } else {
                XCTAssertEqual(burned, plain, "frame \(index) is before or after the cue")
            }
        }
        XCTAssertEqual(burner.frameCount, 16)
    }

    func testOverrideBlocksEscapesAndFilterSyntaxInATextAreShownLiterally() throws {
        // An interpreted {\an8} would move the text to the top; a literal one stays at the bottom.
        let texts = ["{\\an8}at the top?", "\"quoted\": C:\\new\\Nline, a'b [in];[out] %{pts} \\{x\\}",
                     "café — naïve über", "{\\fs200\\c&H0000FF&}big red?"]
        for text in texts {
            let burner = try SubtitleBurner(cues: [SubtitleCue(start: 0, end: 1, text: text)], width: Self.width,
                                            height: Self.height, frameRate: FrameRate(1))
            let plain = try grey()
            let burned = try burner.burn(plain)
            let rows = changedRows(plain, burned)
            XCTAssertFalse(rows.isEmpty, text)
            XCTAssertGreaterThanOrEqual(rows.min() ?? 0, Self.height * 2 / 3, "\(text): drawn at the bottom")
            // An interpreted \c&H0000FF& would draw red: every changed pixel is grey, white or black (the outline).
            let pixels = burned.rgb8
            for offset in stride(from: 0, to: pixels.count, by: 3) {
                let (r, g, b) = (Int(pixels[offset]), Int(pixels[offset + 1]), Int(pixels[offset + 2]))
                XCTAssertLessThanOrEqual(max(abs(r - g), abs(g - b)), 8, "\(text): a coloured pixel")
            }
        }
    }

    func testTheScriptEscapesTextAndWritesCentisecondTimes() {
        XCTAssertEqual(SubtitleBurner.escaped("{\\an8} a\\Nb}"), "\\{\\\u{2060}an8\\} a\\\u{2060}Nb\\}")
        XCTAssertEqual(SubtitleBurner.escaped("one\r\ntwo\nthree\rfour\u{7}"), "one\\Ntwo\\Nthree\\Nfour")
        XCTAssertEqual(SubtitleBurner.time(3725.456), "1:02:05.46")
        XCTAssertEqual(SubtitleBurner.time(0.004), "0:00:00.00")
        let script = SubtitleBurner.script(cues: [try! SubtitleCue(start: 1, end: 2.5, text: "a, b")], width: 1280,
                                           height: 720, style: SubtitleBurner.Style())
        XCTAssertTrue(script.contains("PlayResX: 1280\nPlayResY: 720\n"), script)
        XCTAssertTrue(script.contains("Style: Default,DejaVu Sans,40,"), script)
        XCTAssertTrue(script.hasSuffix("Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,a, b\n"), script)
    }

    func testAFrameOfAnotherSizeIsRefused() throws {
        let burner = try SubtitleBurner(cues: [], width: Self.width, height: Self.height, frameRate: FrameRate(24))
        let small = try VideoFrame(width: 64, height: 64, rgb8: [UInt8](repeating: 0, count: 64 * 64 * 3))
        XCTAssertThrowsError(try burner.burn(small)) { error in
            XCTAssertEqual(error as? MediaError, .frameSizeMismatch(index: 0, expected: "256x144", got: "64x64"))
        }
    }
}
