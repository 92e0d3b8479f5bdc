import Foundation
import XCTest

@testable import KinoraModels

/// The fixtures of `scripts/fixtures/make_t5_tokenizer_fixtures.py` (`Tests/Fixtures/t5-tokenizer/`): a small unigram
/// model trained with sentencepiece and nmt_nfkc normalization, its tokenizer.json from transformers' converter, and
/// the ids both libraries give for a varied set of prompts.
enum T5TokenizerFixtures {
    struct Padded: Decodable {
        let ids: [Int]
    }

    struct ByteFallback: Decodable {
        let sentencepiece: [Int]
        let tokenizers: [Int]
    }

    struct Normalized: Decodable {
        let tokenizers: String
        let sentencepiece: String
    }

    struct Handmade: Decodable {
        let prompt: String
        let sentencepiece: [Int]
        let tokenizers: [Int]
        let tokenizers_without_control: [Int]
    }

    struct Case: Decodable {
        let prompt: String
        let clean: String
        let normalized: Normalized
        let sentencepiece: [Int]
        let tokenizers: [String: [Int]]
        let pipeline: Padded
        let byte_fallback: ByteFallback
    }

    struct Cleaning: Decodable {
        let prompt: String
        let clean: String
    }

    struct Expected: Decodable {
        let max_length: Int
        let clean_only: [Cleaning]
        let handmade: [Handmade]
        let pad_id: Int
        let eos_id: Int
        let unk_id: Int
        let cases: [Case]
    }

    static let folder = fixturesFolder.appending(path: "t5-tokenizer")

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appending(path: "expected.json")))
    }

    static func tokenizerJSON() throws -> Data {
        try gunzip(folder.appending(path: "tokenizer.json.gz"))
    }

    static func sentencePieceModel() throws -> Data {
        try gunzip(folder.appending(path: "spiece.model.gz"))
    }

    /// The layouts of `layouts.json` applied to the converted tokenizer.json, as the fixture script applies them:
    /// the Precompiled normalizer first, then the layout's normalizers, and the layout's pre-tokenizer.
    static func layoutVariants() throws -> [String: Data] {
        let base = try XCTUnwrap(JSONSerialization.jsonObject(with: tokenizerJSON()) as? [String: Any])
        let precompiled = try XCTUnwrap(base["normalizer"] as? [String: Any])
        XCTAssertEqual(precompiled["type"] as? String, "Precompiled")
        let layouts = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: folder.appending(path: "layouts.json")))
                as? [String: [String: Any]])
        var variants = ["transformers-5": try tokenizerJSON()]
        for (name, layout) in layouts {
            var document = base
            let normalizers = try XCTUnwrap(layout["normalizers"] as? [Any])
            document["normalizer"] = ["type": "Sequence", "normalizers": [precompiled] + normalizers]
            document["pre_tokenizer"] = layout["pre_tokenizer"]
            variants[name] = try JSONSerialization.data(withJSONObject: document)
        }
        return variants
    }
}
