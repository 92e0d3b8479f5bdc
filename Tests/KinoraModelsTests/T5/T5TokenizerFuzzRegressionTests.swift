import Foundation
@testable import KinoraModels
import XCTest

/// Replays the inputs kept for the tokenizer fuzz harnesses (`Fuzz/Targets/SentencePiece`, `TokenizerJSON`;
/// `scripts/fuzz.sh sentencepiece tokenizer-json`): their seed fixtures and every input the fuzzer ever made crash
/// or hang, kept under `Tests/Fixtures/fuzz/sentencepiece/` and `.../tokenizer-json/`. Each must load or throw, and a
/// loaded model must encode the harness's prompts; a crash fails the run.
final class T5TokenizerFuzzRegressionTests: XCTestCase {
    static let prompts = ["", "a cat", "  two  spaces\tand\na newline ", "ｆｕｌｌ ① ﬁ Ⅻ ㎏", "e\u{301} A\u{30A} Ầ",
                          "漢字かなカナ한국어", "🙂👍🏽 flags 🇫🇷", "</s><pad><unk> ▁", String(repeating: "long ", count: 40)]

    private func inputs(_ reader: String, seeds: [String]) throws -> [URL] {
        let kept = fixturesFolder.appending(path: "fuzz/\(reader)")
        let found = FileManager.default.fileExists(atPath: kept.path)
            ? try FileManager.default.contentsOfDirectory(at: kept, includingPropertiesForKeys: nil) : []
        return found + seeds.map { fixturesFolder.appending(path: "t5-tokenizer/\($0)") }
    }

    func testKeptSentencePieceInputsNeverCrash() throws {
        var loaded = 0
        for file in try inputs("sentencepiece", seeds: ["byte-fallback/spiece.model", "handmade/spiece.model"]) {
            guard let tokenizer = try? T5Tokenizer(sentencePieceModel: Data(contentsOf: file)) else { continue }
            for prompt in Self.prompts { _ = tokenizer.encode(prompt, maximumLength: 64) }
            loaded += 1
        }
        XCTAssertGreaterThanOrEqual(loaded, 2)
    }

    func testKeptTokenizerJSONInputsNeverCrash() throws {
        var loaded = 0
        let seeds = ["byte-fallback/tokenizer.json", "handmade/tokenizer.json", "handmade/tokenizer-without-control.json"]
        for file in try inputs("tokenizer-json", seeds: seeds) {
            guard let tokenizer = try? T5Tokenizer(tokenizerJSON: Data(contentsOf: file)) else { continue }
            for prompt in Self.prompts { _ = tokenizer.encode(prompt, maximumLength: 64) }
            loaded += 1
        }
        XCTAssertGreaterThanOrEqual(loaded, 3)
    }
}
