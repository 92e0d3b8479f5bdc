@testable import KinoraModels
import XCTest

final class PiperPhonemizerTests: XCTestCase {
    func testPiperLanguageFlagsAreRemovedLikePipersRegex() {
        XCTAssertEqual(PiperPhonemizer.removingLanguageFlags("(fr)ʃɛʁ(en) ənd"), "ʃɛʁ ənd")
        XCTAssertEqual(PiperPhonemizer.removingLanguageFlags("a() b (c"), "a() b (c")
    }

    func testPiperCodePointsAreNFDDecomposed() {
        XCTAssertEqual(PiperPhonemizer.codePoints("ç̃a"), ["c", "\u{0327}", "\u{0303}", "a"])
        XCTAssertEqual(PiperPhonemizer.codePoints("é"), ["e", "\u{0301}"])
    }

    func testPiperVowelClustersMergeLongestFirst() {
        let phonemizer = PiperPhonemizer(espeakVoice: "en-us", vowelClusters: [["a", "ɪ"], ["a", "ɪ", "ə"]])
        XCTAssertEqual(phonemizer.mergingVowelClusters(["h", "a", "ɪ", "ə", " ", "a", "ɪ", "a"]),
                       ["h", "aɪə", " ", "aɪ", "a"])
        XCTAssertEqual(PiperPhonemizer(espeakVoice: "en-us").mergingVowelClusters(["a", "ɪ"]), ["a", "ɪ"])
    }

    func testPiperTextVoicesUseTheTextsOwnCodePointsAsOneSentence() throws {
        let phonemizer = PiperPhonemizer(espeakVoice: "en-us", phonemeType: .text)
        XCTAssertEqual(try phonemizer.phonemize("Né. Yes"), [["N", "e", "\u{0301}", ".", " ", "Y", "e", "s"]])
    }

    func testPiperEspeakPhonemesAppendClausePunctuationAndSplitSentences() throws {
        let sentences = try PiperPhonemizer(espeakVoice: "en-us").phonemize("Hello, world! Bye")
        XCTAssertEqual(sentences.map { $0.joined() }, ["həlˈoʊ, wˈɜːld!", "bˈaɪ"])
    }

    func testPiperUnknownEspeakVoiceIsAnError() {
        XCTAssertThrowsError(try PiperPhonemizer(espeakVoice: "xx-nonexistent").phonemize("Hi.")) { error in
            XCTAssertEqual(error as? PiperError, .unknownEspeakVoice(voice: "xx-nonexistent"))
        }
    }

    /// espeak-ng is loaded at first use, so a machine without it gets a message naming it instead of a binary that
    /// cannot start; the shared instance, already loaded, is untouched.
    func testAMissingEspeakLibraryIsAnErrorNamingIt() throws {
        setenv("KINORA_ESPEAK_LIBRARY", "/nonexistent/libespeak-ng.so.1", 1)
        defer { unsetenv("KINORA_ESPEAK_LIBRARY") }
        XCTAssertThrowsError(try EspeakNG().phonemes(for: "Hi.", voice: "en-us")) { error in
            guard case .espeakUnavailable(let reason)? = error as? PiperError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("KINORA_ESPEAK_LIBRARY"), reason)
            XCTAssertTrue("\(error)".contains("install libespeak-ng1"), "\(error)")
        }
    }
}
