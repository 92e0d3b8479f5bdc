import KinoraModels
import XCTest

final class PiperPhonemeIDsTests: XCTestCase {
    private let map: [String: [Int]] = ["_": [0], "^": [1], "$": [2], " ": [3], "a": [14], "b": [15], "ab": [7, 8]]

    func testPiperIDsInterleaveThePadAfterBOSAndEveryPhonemeButNotAfterEOS() {
        XCTAssertEqual(PiperPhonemeIDs(phonemes: ["a", " ", "b"], map: map).ids, [1, 0, 14, 0, 3, 0, 15, 0, 2])
        XCTAssertEqual(PiperPhonemeIDs(phonemes: [], map: map).ids, [1, 0, 2])
    }

    func testPiperIDsOfAMultiIDPhonemeAreAllFollowedByOnePad() {
        XCTAssertEqual(PiperPhonemeIDs(phonemes: ["ab", "a"], map: map).ids, [1, 0, 7, 8, 0, 14, 0, 2])
    }

    func testPiperIDsSkipUnmappedPhonemesAndReportEachOnce() {
        let encoded = PiperPhonemeIDs(phonemes: ["a", "ʘ", "b", "ʘ", "x"], map: map)
        XCTAssertEqual(encoded.ids, [1, 0, 14, 0, 15, 0, 2])
        XCTAssertEqual(encoded.missing, ["ʘ", "x"])
    }
}
