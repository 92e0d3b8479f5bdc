import Foundation
@testable import KinoraModels
import XCTest

/// Compares against `Tests/Fixtures/tokenizer/expected_ids.json`, written by
/// `scripts/fixtures/make_tokenizer_fixtures.py` from transformers 5's `CLIPTokenizer` on the real CLIP vocabulary.
final class CLIPTokenizerTests: XCTestCase {
    private struct Case: Decodable {
        let prompt: String
        let tokens: [String]
        let ids_padded_eos: [Int]
        let ids_padded_bang: [Int]
        let ids_full: [Int]
    }

    private struct Expected: Decodable {
        let cases: [Case]
    }

    private static let fixtures = fixturesFolder.appending(path: "tokenizer")

    private func tokenizerFolder(padToken: String? = nil) throws -> URL {
        let folder = try makeTemporaryFolder(self)
        try gunzip(Self.fixtures.appending(path: "vocab.json.gz")).write(to: folder.appending(path: "vocab.json"))
        try gunzip(Self.fixtures.appending(path: "merges.txt.gz")).write(to: folder.appending(path: "merges.txt"))
        if let padToken {
            let map = try JSONSerialization.data(withJSONObject: ["pad_token": ["content": padToken]])
            try map.write(to: folder.appending(path: "special_tokens_map.json"))
        }
        return folder
    }

    private func expectedCases() throws -> [Case] {
        let data = try Data(contentsOf: Self.fixtures.appending(path: "expected_ids.json"))
        return try JSONDecoder().decode(Expected.self, from: data).cases
    }

    func testTokensAndIdsMatchTransformersOnEveryFixturePrompt() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder())
        XCTAssertEqual(tokenizer.bosTokenID, 49406)
        XCTAssertEqual(tokenizer.eosTokenID, 49407)
        XCTAssertEqual(tokenizer.padTokenID, 49407)
        let cases = try expectedCases()
        XCTAssertGreaterThanOrEqual(cases.count, 54)
        for expected in cases {
            XCTAssertEqual(tokenizer.tokens(expected.prompt), expected.tokens, expected.prompt)
            XCTAssertEqual(tokenizer.fullIDs(expected.prompt), expected.ids_full, expected.prompt)
            XCTAssertEqual(tokenizer.paddedIDs(expected.prompt), expected.ids_padded_eos, expected.prompt)
        }
    }

    func testCJKRunIsOneWordAndNotOneWordPerIdeograph() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder())
        for run in ["東京タワーの夜景", "一只猫坐在窗台上", "水墨画"] {
            XCTAssertEqual(tokenizer.tokens(run).filter { $0.hasSuffix("</w>") }.count, 1, run)
        }
    }

    func testFormatAndControlCharactersAreKeptAsWordsOfTheirOwn() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder())
        XCTAssertEqual(tokenizer.tokens("zero\u{200B}width"), ["zero</w>", "âĢĭ</w>", "width</w>"])
        XCTAssertEqual(tokenizer.tokens("control\u{07}bell"), ["control</w>", "ć</w>", "bell</w>"])
        XCTAssertEqual(tokenizer.tokens("soft\u{AD}hyphen").prefix(2), ["soft</w>", "ÂŃ</w>"])
    }

    func testDecomposedAccentsGiveTheIdsOfTheirComposedSpelling() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder())
        XCTAssertEqual(tokenizer.ids("re\u{301}sume\u{301} A\u{30A}ngstro\u{308}m"), tokenizer.ids("résumé Ångström"))
    }

    func testCapitalSigmaLowercasesWithoutTheFinalForm() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder())
        XCTAssertEqual(tokenizer.ids("ΟΔΥΣΣΕΥΣ"), tokenizer.ids("οδυσσευσ"))
    }

    func testSpecialTokenInAnotherCaseIsEncodedAsText() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder())
        XCTAssertEqual(tokenizer.tokens("<|ENDOFTEXT|>"), ["<", "|</w>", "endof", "text</w>", "|", "></w>"])
        XCTAssertEqual(tokenizer.ids("<|endoftext|>"), [tokenizer.eosTokenID])
    }

    func testPadTokenComesFromTheSpecialTokensMap() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder(padToken: "!"))
        XCTAssertEqual(tokenizer.padTokenID, 0)
        for expected in try expectedCases() {
            XCTAssertEqual(tokenizer.paddedIDs(expected.prompt), expected.ids_padded_bang, expected.prompt)
        }
    }

    func testLongPromptsSplitIntoWindowsOf75Tokens() throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder())
        let long = try XCTUnwrap(try expectedCases().max { $0.ids_full.count < $1.ids_full.count })
        let content = Array(long.ids_full.dropFirst().dropLast())
        XCTAssertGreaterThan(content.count, 150)
        let windows = tokenizer.windows(long.prompt)
        XCTAssertEqual(windows.count, (content.count + 74) / 75)
        XCTAssertTrue(windows.allSatisfy { $0.count == 77 && $0.first == 49406 })
        XCTAssertEqual(windows.flatMap { Array($0[1...].prefix { $0 != 49407 }) }, content)
        XCTAssertEqual(Array(windows[0][1..<76]), Array(content.prefix(75)))
        XCTAssertEqual(windows[0][76], 49407)
        XCTAssertEqual(tokenizer.windows(""), [tokenizer.paddedIDs("")])
    }

    func testMissingSpecialTokenIsReported() throws {
        XCTAssertThrowsError(
            try CLIPTokenizer(vocabularyJSON: Data(#"{"a</w>": 0}"#.utf8), merges: Data("#version: 0.2\n".utf8))
        ) {
            XCTAssertEqual($0 as? TokenizerError, .missingToken(file: "vocab.json", token: "<|startoftext|>"))
        }
    }

    func testVocabularyDerivedFromTheMergesAloneIsTransformersVocabulary() throws {
        let merges = try gunzip(Self.fixtures.appending(path: "merges.txt.gz"))
        let derived = try CLIPTokenizer(bpeMerges: merges)
        let reference = try CLIPTokenizer(folder: tokenizerFolder())
        XCTAssertEqual(derived.vocabulary.count, 49_408)
        XCTAssertEqual(derived.vocabulary, reference.vocabulary)
        let bang = try CLIPTokenizer(bpeMerges: merges, padToken: "!")
        for expected in try expectedCases() {
            XCTAssertEqual(derived.paddedIDs(expected.prompt), expected.ids_padded_eos, expected.prompt)
            XCTAssertEqual(bang.paddedIDs(expected.prompt), expected.ids_padded_bang, expected.prompt)
        }
    }

    func testInstalledOpenCLIPMergesGiveTransformersIds() throws {
        let installed = SingleFileOptions.defaultTokenizer
        try XCTSkipUnless(FileManager.default.fileExists(atPath: installed.path),
                          "\(installed.path) is not installed (scripts/setup.sh installs it)")
        let tokenizer = try CLIPTokenizer(bpeMerges: Data(contentsOf: installed))
        let reference = try CLIPTokenizer(folder: tokenizerFolder())
        XCTAssertEqual(tokenizer.vocabulary, reference.vocabulary)
        for expected in try expectedCases() {
            XCTAssertEqual(tokenizer.fullIDs(expected.prompt), expected.ids_full, expected.prompt)
        }
    }
}
