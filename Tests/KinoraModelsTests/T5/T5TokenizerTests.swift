import Foundation
import XCTest

@testable import KinoraModels

/// Compares `T5Tokenizer` with tokenizers 0.23.3 (through transformers 5.23.0's `T5TokenizerFast`) and sentencepiece
/// 0.2.1 on the fixture prompts; see `T5TokenizerFixtures`.
final class T5TokenizerTests: XCTestCase {
    func testTokenizerJSONGivesTokenizersIdsInEveryLayout() throws {
        let expected = try T5TokenizerFixtures.expected()
        let variants = try T5TokenizerFixtures.layoutVariants()
        XCTAssertEqual(variants.count, 4)
        for (name, data) in variants.sorted(by: { $0.key < $1.key }) {
            let tokenizer = try T5Tokenizer(tokenizerJSON: data, file: name)
            XCTAssertEqual(tokenizer.eosTokenID, expected.eos_id)
            XCTAssertEqual(tokenizer.padTokenID, expected.pad_id)
            XCTAssertEqual(tokenizer.unknownTokenID, expected.unk_id)
            for testCase in expected.cases {
                let reference = try XCTUnwrap(testCase.tokenizers[name], name)
                XCTAssertEqual(
                    tokenizer.ids(testCase.prompt), reference, "\(name): \(testCase.prompt.debugDescription)")
            }
        }
    }

    func testLayoutsDifferSoEachOneIsReallyExercised() throws {
        let expected = try T5TokenizerFixtures.expected()
        for name in ["transformers-4-umt5", "transformers-4-spm-nonlegacy", "split-string-replace"] {
            XCTAssertTrue(
                expected.cases.contains { $0.tokenizers[name] != $0.tokenizers["transformers-5"] }
                    || name == "transformers-4-umt5", name)
        }
        XCTAssertTrue(expected.cases.contains { $0.tokenizers["transformers-5"]!.contains(expected.unk_id) })
    }

    func testSentencePieceModelGivesSentencePieceIdsAndEOS() throws {
        let expected = try T5TokenizerFixtures.expected()
        let tokenizer = try T5Tokenizer(sentencePieceModel: T5TokenizerFixtures.sentencePieceModel())
        XCTAssertEqual(tokenizer.eosTokenID, expected.eos_id)
        XCTAssertEqual(tokenizer.padTokenID, expected.pad_id)
        XCTAssertEqual(tokenizer.unknownTokenID, expected.unk_id)
        for testCase in expected.cases {
            XCTAssertEqual(
                tokenizer.contentIDs(testCase.prompt), testCase.sentencepiece,
                testCase.prompt.debugDescription)
            XCTAssertEqual(tokenizer.ids(testCase.prompt), testCase.sentencepiece + [expected.eos_id])
        }
    }

    func testNormalizersGiveTheTextOfEachLibrary() throws {
        let expected = try T5TokenizerFixtures.expected()
        let pipeline = try TokenizerJSONPipeline(data: T5TokenizerFixtures.tokenizerJSON(), file: "tokenizer.json")
        let normalizer = try XCTUnwrap(pipeline.normalizer)
        let processor = try SentencePieceProcessor(data: T5TokenizerFixtures.sentencePieceModel(), file: "spiece.model")
        for testCase in expected.cases {
            XCTAssertEqual(
                normalizer.normalize(testCase.prompt), testCase.normalized.tokenizers,
                testCase.prompt.debugDescription)
            XCTAssertEqual(
                String(decoding: processor.normalizer.normalize(testCase.prompt), as: UTF8.self),
                testCase.normalized.sentencepiece, testCase.prompt.debugDescription)
        }
        // A decomposed Vietnamese letter is one grapheme holding two keys: tokenizers keeps the shorter rule and
        // drops the second accent, sentencepiece composes both.
        let vietnamese = try XCTUnwrap(expected.cases.first { $0.prompt.contains("Vietnamese") })
        XCTAssertTrue(vietnamese.normalized.tokenizers.contains("\u{C2}"))
        XCTAssertTrue(vietnamese.normalized.sentencepiece.contains("\u{1EA6}"))
    }

    func testHandmadeModelScoresUnknownsAsEachLibraryDoes() throws {
        let expected = try T5TokenizerFixtures.expected()
        let folder = T5TokenizerFixtures.folder.appending(path: "handmade")
        let json = try T5Tokenizer(tokenizerJSON: Data(contentsOf: folder.appending(path: "tokenizer.json")))
        let withoutControl = try T5Tokenizer(
            tokenizerJSON: Data(contentsOf: folder.appending(path: "tokenizer-without-control.json")))
        let spm = try T5Tokenizer(sentencePieceModel: Data(contentsOf: folder.appending(path: "spiece.model")))
        for testCase in expected.handmade {
            XCTAssertEqual(json.ids(testCase.prompt), testCase.tokenizers, testCase.prompt)
            XCTAssertEqual(withoutControl.ids(testCase.prompt), testCase.tokenizers_without_control, testCase.prompt)
            XCTAssertEqual(spm.contentIDs(testCase.prompt), testCase.sentencepiece, testCase.prompt)
        }
        // "ab": the unknown "a" wins in sentencepiece (minimum over normal pieces), "▁ab" in tokenizers (minimum over
        // every piece, the control piece at −100 included).
        let ab = try XCTUnwrap(expected.handmade.first { $0.prompt == "ab" })
        XCTAssertEqual(ab.sentencepiece, [3, 2, 4])
        XCTAssertEqual(ab.tokenizers, [5, 1])
        XCTAssertEqual(ab.tokenizers_without_control, [3, 2, 4, 1])
        XCTAssertEqual(try XCTUnwrap(expected.handmade.first { $0.prompt == "ac" }).tokenizers_without_control, [7, 1])
    }

    func testTheTwoLibrariesDisagreeWhereExpectedAndEachBackendFollowsItsOwn() throws {
        let expected = try T5TokenizerFixtures.expected()
        let differing = expected.cases.filter { $0.sentencepiece + [1] != $0.tokenizers["transformers-5"] }
        XCTAssertTrue(differing.contains { $0.prompt.contains("</s>") }, "special tokens in the text")
        XCTAssertTrue(differing.contains { $0.prompt.contains("\u{FF46}\u{301}") }, "a grapheme normalized whole")
    }

    func testWanPipelineCallGivesTransformersPaddedIdsAndMask() throws {
        let expected = try T5TokenizerFixtures.expected()
        XCTAssertEqual(expected.max_length, T5Tokenizer.wanMaximumLength)
        let tokenizer = try T5Tokenizer(tokenizerJSON: T5TokenizerFixtures.tokenizerJSON())
        for testCase in expected.cases {
            XCTAssertEqual(WanPromptCleaner.clean(testCase.prompt), testCase.clean, testCase.prompt.debugDescription)
            let encoding = tokenizer.encode(WanPromptCleaner.clean(testCase.prompt))
            let length = testCase.pipeline.ids.count
            XCTAssertEqual(
                encoding.ids, testCase.pipeline.ids + Array(repeating: expected.pad_id, count: 512 - length),
                testCase.clean.debugDescription)
            XCTAssertEqual(
                encoding.attentionMask,
                Array(repeating: 1, count: length)
                    + Array(repeating: 0, count: 512 - length))
            XCTAssertEqual(encoding.length, length)
        }
    }

    func testLongPromptIsTruncatedTo511IdsAndEOS() throws {
        let expected = try T5TokenizerFixtures.expected()
        let long = try XCTUnwrap(expected.cases.first { $0.tokenizers["transformers-5"]!.count > 600 })
        let tokenizer = try T5Tokenizer(tokenizerJSON: T5TokenizerFixtures.tokenizerJSON())
        let encoding = tokenizer.encode(long.clean)
        XCTAssertEqual(encoding.length, 512)
        XCTAssertEqual(encoding.ids.last, expected.eos_id)
        XCTAssertEqual(Array(encoding.ids.prefix(511)), Array(tokenizer.contentIDs(long.clean).prefix(511)))
        let spm = try T5Tokenizer(sentencePieceModel: T5TokenizerFixtures.sentencePieceModel())
        XCTAssertEqual(spm.encode(long.prompt).ids, Array(long.sentencepiece.prefix(511)) + [expected.eos_id])
        XCTAssertEqual(
            tokenizer.encode("", maximumLength: 4),
            T5Encoding(ids: [expected.eos_id, 0, 0, 0], attentionMask: [1, 0, 0, 0]))
    }

    func testByteFallbackMatchesBothLibraries() throws {
        let expected = try T5TokenizerFixtures.expected()
        let folder = T5TokenizerFixtures.folder.appending(path: "byte-fallback")
        let json = try T5Tokenizer(tokenizerJSON: Data(contentsOf: folder.appending(path: "tokenizer.json")))
        let spm = try T5Tokenizer(sentencePieceModel: Data(contentsOf: folder.appending(path: "spiece.model")))
        var bytePieces = 0
        for testCase in expected.cases {
            XCTAssertEqual(
                json.ids(testCase.prompt), testCase.byte_fallback.tokenizers, testCase.prompt.debugDescription)
            XCTAssertEqual(
                spm.contentIDs(testCase.prompt), testCase.byte_fallback.sentencepiece,
                testCase.prompt.debugDescription)
            bytePieces += testCase.byte_fallback.sentencepiece.filter { (5..<261).contains($0) }.count
        }
        XCTAssertGreaterThan(bytePieces, 20, "the fixture prompts exercise byte fallback")
    }

    func testFolderPrefersTokenizerJSONAndFallsBackToSpieceModel() throws {
        let folder = try makeTemporaryFolder(self)
        try T5TokenizerFixtures.sentencePieceModel().write(to: folder.appending(path: "spiece.model"))
        let prompt = "special </s> in the middle"
        let spm = try T5Tokenizer(folder: folder)
        XCTAssertEqual(spm.ids(prompt).filter { $0 == 1 }.count, 1)
        try T5TokenizerFixtures.tokenizerJSON().write(to: folder.appending(path: "tokenizer.json"))
        let json = try T5Tokenizer(folder: folder)
        XCTAssertEqual(json.ids(prompt).filter { $0 == 1 }.count, 2)
        XCTAssertThrowsError(try T5Tokenizer(folder: folder.appending(path: "missing"))) {
            guard case .unreadable = $0 as? T5TokenizerError else { return XCTFail("\($0)") }
        }
    }
}
